"""The partnership definition: a partnership's governance as code.

One YAML file per partnership, validated by these pydantic models (shape and types)
and by :func:`definitions.checks.problems` (references and rules across fields).
People reference each other by stakeholder id; ids are unique across the file.
The vocabulary follows ``DOMAIN.md``: parties, stakeholders, screening checklist,
goal-alignment check, SMART metrics, MOU, escalation ladder, review cadences.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from definitions.calendar import CalendarRule, WorkingWindow
from definitions.durations import Duration, DurationField

Id = Annotated[
    str,
    StringConstraints(pattern=r"^[a-z0-9][a-z0-9_-]{0,62}$"),
    Field(description="Lower-case letters, digits, '-' and '_'; starts with a letter or digit."),
]
StakeholderRef = Annotated[str, Field(description="The id of a stakeholder of one of the parties.")]
Email = Annotated[
    str,
    StringConstraints(pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$", max_length=254),
    Field(description="An email address."),
]
Text = Annotated[str, StringConstraints(min_length=1, strip_whitespace=True)]
# Checked against the pinned time zone database by definitions.calendar_checks (with advice).
TimeZone = Annotated[str, Field(max_length=64, description="An IANA time zone, e.g. Europe/London or America/New_York.")]


class Model(BaseModel):
    # Unknown keys are mistakes (a typo in a field name must not be silently ignored).
    model_config = ConfigDict(extra="forbid", frozen=False)


class Formality(StrEnum):
    formal = "formal"
    informal = "informal"


class ApprovalPolicy(StrEnum):
    all = "all"
    any = "any"
    quorum = "quorum"
    sequential = "sequential"


class OnTimeout(StrEnum):
    escalate = "escalate"
    fail = "fail"


# --- people -----------------------------------------------------------------------


class Stakeholder(Model):
    id: Id
    name: Text
    email: Email
    role: Text = Field(description="What this person does in the partnership, e.g. 'executive sponsor'.")
    timezone: TimeZone | None = Field(
        None, description="Where this person works, if not in their party's zone: deadlines and emails follow it."
    )
    working_hours: WorkingWindow | None = Field(
        None, description="This person's working day, if not their party's (e.g. {start: \"07:00\", end: \"15:00\"})."
    )


class Party(Model):
    id: Id
    name: Text
    role: str = Field("", description="The party's role, e.g. 'prime contractor', 'referral partner'.")
    value_statement: str = Field("", description="The value this party expects from the partnership.")
    stakeholders: list[Stakeholder] = Field(min_length=1)
    holidays: str | None = Field(
        None, description="Country (and optional subdivision) code for business-day scheduling, e.g. 'US' or 'GB-SCT'."
    )
    timezone: TimeZone | None = Field(
        None, description="The party's IANA time zone, where its business days and working hours are kept. None: UTC."
    )
    working_hours: WorkingWindow | None = Field(
        None, description="Its people's working day in their zone (e.g. {start: \"08:00\", end: \"16:30\"}). None: 09:00-17:00."
    )


class OpsContact(Model):
    name: Text
    email: Email


# --- timing -----------------------------------------------------------------------


class Reminders(Model):
    """When to chase an open task or approval, and when it becomes an escalation."""

    before: list[DurationField] = Field(
        default_factory=list, description="Reminders this long before the deadline, e.g. [3d, 1d]."
    )
    overdue_every: DurationField | None = Field(
        None, description="Once overdue, chase this often until done or escalated."
    )
    escalate_after: DurationField | None = Field(
        None, description="Overdue this long (after its reminders) raises an escalation. None: never."
    )


# --- screening --------------------------------------------------------------------


class ChecklistCategory(StrEnum):
    capability = "capability"
    partner_screening = "partner_screening"
    culture = "culture"
    legal_compliance = "legal_compliance"
    charter = "charter"
    mutual_value = "mutual_value"
    other = "other"


class ChecklistItem(Model):
    id: Id
    title: Text
    description: str = ""
    category: ChecklistCategory = ChecklistCategory.other
    owner: StakeholderRef
    due: DurationField = Field(description="Deadline, counted from the start of the stage.")
    required: bool = True
    reminders: Reminders | None = Field(None, description="Overrides the definition's default reminders.")


class ApprovalRules(Model):
    """How a decision is reached: shared by go/no-go, MOU signature, renewal and amendments."""

    policy: ApprovalPolicy = ApprovalPolicy.all
    quorum: int | None = Field(None, ge=1, description="k of n; only with policy 'quorum'.")
    deadline: DurationField
    reminders: Reminders | None = None
    on_timeout: OnTimeout = OnTimeout.escalate
    allow_delegation: bool = False


class Approval(ApprovalRules):
    approvers: list[StakeholderRef] = Field(min_length=1)


class AlignmentCheck(Model):
    """Each listed stakeholder independently states the partnership's primary goal."""

    participants: list[StakeholderRef] = Field(min_length=2)
    threshold: float = Field(
        0.75, gt=0, le=1, description="Highest divergence (0 = identical, 1 = unrelated) that may proceed."
    )
    due: DurationField
    prompt: Text = "In two sentences: what is the primary goal of this partnership?"
    reminders: Reminders | None = None
    override_by: list[StakeholderRef] = Field(
        default_factory=list,
        description="Who may let screening proceed despite divergence (with a reason). Default: the go/no-go approvers.",
    )


class Screening(Model):
    checklist: list[ChecklistItem] = Field(default_factory=list)
    alignment: AlignmentCheck | None = None
    go_no_go: Approval


# --- measurement ------------------------------------------------------------------


class Direction(StrEnum):
    increase = "increase"
    decrease = "decrease"


class Metric(Model):
    """A SMART goal's measure: owner, baseline captured before launch, target, review cadence."""

    id: Id
    name: Text
    goal: str = Field("", description="The SMART goal this metric measures.")
    owner: StakeholderRef
    unit: Text
    baseline: float | None = Field(None, description="Known baseline; if absent it is captured at launch.")
    target: float
    direction: Direction = Direction.increase
    cadence: DurationField = Field(description="How often an observation is expected, e.g. 1mo.")
    target_by: DurationField | None = Field(None, description="When the target should be met, from launch.")


class Deliverable(Model):
    id: Id
    title: Text
    owner: StakeholderRef
    definition_of_done: Text
    due: DurationField


# --- MOU --------------------------------------------------------------------------


class Clauses(Model):
    roles_and_responsibilities: str = ""
    decision_authority: str = ""
    intellectual_property: str = ""
    publication_rights: str = ""
    data_use: str = ""
    conflict_resolution: str = Field(
        "", description="Defaults to the CARE model (Clarify, Acknowledge, Reframe, Explore) and the escalation ladder."
    )
    renewal: str = ""
    termination: str = ""
    other: dict[str, str] = Field(default_factory=dict, description="Further clauses: title -> text.")


class Mou(ApprovalRules):
    template: str = Field("mou.md.j2", description="Jinja2 template, beside the definition or in definitions/templates.")
    clauses: Clauses = Field(default_factory=Clauses)
    signatories: list[StakeholderRef] = Field(min_length=1)
    max_rounds: int = Field(3, ge=1, le=20, description="Revision rounds before the MOU stage fails.")


# --- launch and reviews -----------------------------------------------------------


class Launch(Model):
    deliverables: list[Deliverable] = Field(default_factory=list)
    checklist: list[ChecklistItem] = Field(default_factory=list)
    proceed_with_open_items: bool = False


class Cadence(Model):
    """When a review happens: ``every`` (a fixed step from launch) or ``rule`` (a calendar rule
    in local time, e.g. Mondays at 10:00 Europe/London); exactly one of them."""

    every: DurationField | None = Field(None, description="A fixed interval from launch, e.g. 1w.")
    rule: CalendarRule | None = Field(
        None, description="A calendar rule: weekdays / day_of_month / nth, at (local time), minutes, zone."
    )
    participants: list[StakeholderRef] = Field(
        default_factory=list, description="Who gives input. Empty: each party's first stakeholder."
    )
    inputs_due: DurationField = Field(description="How long participants have to send their input.")
    reminders: Reminders | None = None
    business_days_only: bool = Field(
        False, description="Move a review whose day is a weekend or public holiday of any party (in its zone)."
    )
    enabled: bool = True


class StatusCadence(Cadence):
    prompt: Text = "What's one small change I could make this week that would improve our collaboration?"


class MutualValueCadence(Cadence):
    imbalance_tolerance: float = Field(
        0.3, gt=0, le=1, description="Largest allowed gap between parties' benefit-to-contribution ratios."
    )


class Reviews(Model):
    weekly_status: StatusCadence | None = None
    monthly: Cadence | None = None
    quarterly: Cadence | None = None
    six_month_formal: Cadence | None = None
    annual_mutual_value: MutualValueCadence | None = None


# --- escalation -------------------------------------------------------------------


class EscalationLevel(Model):
    name: Text
    contacts: list[StakeholderRef] = Field(min_length=1)
    respond_within: DurationField


class Clear(StrEnum):
    """What happens to an automatic escalation once its cause is gone (rules 2)."""

    auto = "auto"  # unacknowledged: it closes; acknowledged: its current level is asked to confirm
    confirm = "confirm"  # its current level is always asked to confirm
    manual = "manual"  # it stays open until someone resolves or withdraws it (the cause is only recorded)


class ClearStatus(StrEnum):
    """The weekly status that ends a red status (rules 2)."""

    green = "green"
    amber = "amber"  # no longer red is enough (red_status only)


# Flapping: the same cause raised again this soon after it cleared pages nobody until the period ends.
DEFAULT_QUIET_PERIOD = Duration(seconds=86400)


class Trigger(Model):
    enabled: bool = True
    level: int = Field(1, ge=1, description="The ladder level (1-based) an escalation of this kind starts at.")
    count: int | None = Field(None, ge=1, description="How many in a row trigger it, where that applies.")
    clear: Clear = Field(
        Clear.auto, description="Once its cause is gone: auto (an unacknowledged escalation closes, an acknowledged "
        "one asks its level to confirm), confirm (always ask), manual (it stays open).")
    clear_status: ClearStatus = Field(
        ClearStatus.green, description="red_status only: the weekly status that ends it (green, or amber: no longer red).")
    quiet_period: DurationField = Field(
        default_factory=lambda: DEFAULT_QUIET_PERIOD,
        description="Raised again this soon after its cause cleared, it pages nobody until the period has passed "
        "(and not at all if the cause is gone again by then).")


class Triggers(Model):
    overdue: Trigger = Field(default_factory=Trigger)
    red_status: Trigger = Field(default_factory=Trigger)
    repeated_amber: Trigger = Field(default_factory=lambda: Trigger(count=2))
    missed_updates: Trigger = Field(default_factory=lambda: Trigger(count=3))
    missed_target: Trigger = Field(default_factory=Trigger)
    imbalance: Trigger = Field(default_factory=Trigger)
    alignment: Trigger = Field(default_factory=Trigger)


class Escalation(Model):
    ladder: list[EscalationLevel] = Field(min_length=1)
    triggers: Triggers = Field(default_factory=Triggers)


class Notices(Model):
    """Notices that can repeat (a goal statement revised again, another email bounced) wait for a
    quiet moment and go out as one email per recipient (rules 2)."""

    quiet_period: DurationField = Field(
        default_factory=lambda: Duration(seconds=120),
        description="Sent once nothing new has happened for this long.")
    max_delay: DurationField = Field(
        default_factory=lambda: Duration(seconds=1800),
        description="Sent at the latest this long after the first notice waiting, however busy it is.")


class Renewal(Model):
    term: DurationField = Field(description="Length of one term, from launch.")
    notice: DurationField = Field(description="The renewal decision starts this long before the term ends.")
    approval: Approval


# --- the definition ---------------------------------------------------------------


class PartnershipDefinition(Model):
    """A partnership's governance: who, what is checked, what is signed, how it is run."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"title": "Accord partnership definition"})

    version: Literal[1] = Field(1, description="Schema version of this file.")
    id: Id = Field(description="Stable id; the workflow id is derived from it.")
    name: Text
    description: str = ""
    formality: Formality = Formality.formal
    ops: list[OpsContact] = Field(min_length=1, description="Who runs the partnership day to day; told of failures.")
    parties: list[Party] = Field(min_length=2)
    reminders: Reminders = Field(
        default_factory=lambda: Reminders.model_validate({"before": ["2d"], "overdue_every": "2d", "escalate_after": "1w"}),
        description="Default reminders for every task and approval.",
    )
    screening: Screening
    metrics: list[Metric] = Field(default_factory=list)
    mou: Mou | None = Field(None, description="Required for a formal partnership.")
    launch: Launch = Field(default_factory=Launch)
    reviews: Reviews = Field(default_factory=Reviews)
    escalation: Escalation
    renewal: Renewal | None = None
    notices: Notices = Field(default_factory=Notices, description="Batching of notices that can repeat.")

    # -- lookups used by workflows and templates --

    def stakeholders(self) -> dict[str, Stakeholder]:
        return {s.id: s for p in self.parties for s in p.stakeholders}

    def party_of(self, stakeholder_id: str) -> Party:
        for party in self.parties:
            if any(s.id == stakeholder_id for s in party.stakeholders):
                return party
        raise KeyError(stakeholder_id)

    def timezone_of(self, stakeholder_id: str) -> str | None:
        """Where a stakeholder works: their own zone, else their party's; None: UTC."""
        person = self.stakeholders()[stakeholder_id]
        return person.timezone or self.party_of(stakeholder_id).timezone

    def working_hours_of(self, stakeholder_id: str) -> WorkingWindow | None:
        """A stakeholder's working day: their own window, else their party's; None: 09:00-17:00."""
        person = self.stakeholders()[stakeholder_id]
        return person.working_hours or self.party_of(stakeholder_id).working_hours

    def reminders_for(self, own: Reminders | None) -> Reminders:
        return own if own is not None else self.reminders
