"""Escalations: the partnership's record of each, and the escalation workflow's own state and messages
(an escalation runs as its own, child, workflow: workflows/escalation/)."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from pydantic import Field, computed_field

from accord.models.common import Channel, Payload
from accord.models.mail import EmailDelay
from definitions.schema import PartnershipDefinition


class TriggerKind(StrEnum):
    """What raised an escalation: a trigger of the definition (``escalation.triggers``), or a person."""

    overdue = "overdue"  # a task or an approval past its deadline and reminders
    alignment = "alignment"  # goal statements diverge
    red_status = "red_status"  # a weekly status came back red
    repeated_amber = "repeated_amber"  # amber several weeks in a row
    missed_updates = "missed_updates"  # a party silent several weeks, or reviews skipped, in a row
    missed_target = "missed_target"  # a metric missed its target
    imbalance = "imbalance"  # the mutual-value review found the parties out of balance
    manual = "manual"  # raised by a person (the ``escalate`` update)


class Severity(StrEnum):
    low = "low"
    normal = "normal"
    high = "high"
    critical = "critical"


class EscalationStatus(StrEnum):
    open = "open"  # climbing the ladder until somebody acknowledges it
    acknowledged = "acknowledged"  # somebody owns it: no more climbing, CARE under way
    awaiting_amendment = "awaiting_amendment"  # resolved subject to an amendment still in approval
    resolved = "resolved"
    withdrawn = "withdrawn"
    cleared = "cleared"  # closed because its cause went away (rules 2: workflows/escalation/clearing.py)

    @property
    def is_final(self) -> bool:
        return self in (EscalationStatus.resolved, EscalationStatus.withdrawn, EscalationStatus.cleared)


def shown_level(level: int, with_ops: bool) -> int:
    """The one number an escalation's position is shown as, everywhere (search attributes, state,
    pages, CLI): the ladder level, and one past the last level once ops have it. (The words for it
    are ``accord.logic.ladder.position``.)"""
    return level + 1 if with_ops else level


class EscalationRecord(Payload):
    id: str
    trigger: TriggerKind
    subject: str  # the task / approval / metric it is about
    reason: str
    level: int
    severity: Severity = Severity.normal
    raised_by: str
    channel: Channel
    opened_at: datetime
    what: str = Field("", description="What it is about, in a few words (subjects, the status line).")
    status: EscalationStatus = EscalationStatus.open
    # The escalation's own workflow (a child of the partnership), when it has one.
    workflow_id: str | None = None
    with_ops: bool = False
    cause_gone: str = Field("", description="Rules 2: why its cause is gone (the partnership saw it); \"\" while it is not.")
    cause_gone_at: datetime | None = None
    closed_cause: str = Field("", description="How it ended, in words (from its workflow).")

    @computed_field  # type: ignore[prop-decorator]  # mypy cannot type a decorator over a property: the form pydantic documents
    @property
    def shown_level(self) -> int:
        """Its position as shown everywhere (:func:`shown_level`)."""
        return shown_level(self.level, self.with_ops)


class EscalationFacts(Payload):
    """What an escalation is about: fixed when it is raised (the EscalationRecord's fields)."""

    id: str
    trigger: TriggerKind
    subject: str  # the task / approval / metric it is about
    reason: str
    severity: Severity = Severity.normal
    raised_by: str
    channel: Channel = Channel.temporal
    opened_at: datetime
    what: str = Field("", description="What it is about, in a few words (subjects, the status line).")


class LevelChange(Payload):
    """One step on the ladder: which level (None: past the last level, handed to ops), when, why."""

    level: int | None
    name: str
    contacts: list[str] = Field(default_factory=list, description="Stakeholder ids (or ops-N) told at this level.")
    at: datetime
    cause: str
    notified_at: datetime | None = Field(None, description="When the level's contacts were emailed (the last of them).")
    told: list[str] = Field(
        default_factory=list,
        description="Schedule 1: those of its contacts emailed so far, each in their working hours (notified_at once all are).")

    @property
    def paging_pending(self) -> bool:
        """None of its contacts emailed yet: ``at`` is when the first will be (their working day,
        or the end of a quiet period), still to come while the escalation is open."""
        return self.notified_at is None and not self.told


class AcknowledgementRecord(Payload):
    actor: str
    note: str = ""
    at: datetime
    level: int
    channel: Channel
    sent_by: str | None = None


class CareStep(StrEnum):
    """The CARE steps, in order: Clarify, Acknowledge (each party's perspective), Reframe, Explore."""

    clarify = "clarify"
    acknowledge = "acknowledge"
    reframe = "reframe"
    explore = "explore"

    @property
    def label(self) -> str:
        return self.value.capitalize()

    @property
    def meaning(self) -> str:
        """What the step records (shown where people write it)."""
        return {
            "clarify": "the observable issue: what happened, without interpretation",
            "acknowledge": "a party's perspective, without judgment",
            "reframe": "the issue around the shared goal",
            "explore": "new agreements: what each party will do differently",
        }[self.value]


class CareNote(Payload):
    text: str
    by: str
    at: datetime
    channel: Channel
    sent_by: str | None = None


class SupersededCareNote(Payload):
    """A CARE entry that a later entry for the same step (and party) replaced: kept for the audit."""

    step: CareStep
    party: str | None = None
    note: CareNote


class CareRecord(Payload):
    """Clarify the observable issue, Acknowledge each party's perspective, Reframe around the
    shared goal, Explore the new agreement."""

    clarify: CareNote | None = None
    acknowledge: dict[str, CareNote] = Field(default_factory=dict, description="Party id -> that party's perspective.")
    reframe: CareNote | None = None
    explore: CareNote | None = None
    superseded: list[SupersededCareNote] = Field(default_factory=list)

    def missing(self, parties: list[str]) -> list[str]:
        """The steps (and parties' perspectives) still to be recorded before it can be resolved."""
        out = [CareStep.clarify.value] if self.clarify is None else []
        out += [f"{CareStep.acknowledge} ({p})" for p in parties if p not in self.acknowledge]
        out += [step.value for step, note in ((CareStep.reframe, self.reframe), (CareStep.explore, self.explore))
                if note is None]
        return out


class Clearing(Payload):
    """Rules 2: the partnership saw the escalation's cause go away (the ``cause_cleared`` signal).

    Unacknowledged (trigger ``clear: auto``), the escalation closes at once; acknowledged (or
    ``clear: confirm``), its current level is asked to confirm: it closes when one of them
    confirms, or by itself at ``until`` (the level's ``respond_within``) unless one keeps it open.
    The cause may come back before then (``back_at``): the question is withdrawn."""

    cause: str
    at: datetime
    asked: list[str] = Field(default_factory=list, description="Who was asked to confirm (stakeholder ids, ops-N).")
    asked_at: datetime | None = Field(None, description="When they were emailed (the last of them).")
    told: list[str] = Field(default_factory=list, description="Schedule 1: those asked so far, each in their working hours.")
    until: datetime | None = Field(None, description="It closes by itself then, unless kept open.")
    kept_open_by: str | None = None
    kept_open_note: str = ""
    back_at: datetime | None = Field(None, description="The cause came back: nothing to confirm any more.")

    @property
    def pending(self) -> bool:
        """A confirmation is asked and not yet answered (nor moot)."""
        return self.until is not None and self.kept_open_by is None and self.back_at is None


class EscalationState(EscalationFacts):
    partnership_workflow_id: str
    partnership: str = Field("", description="The partnership's name.")
    # The first run's id: stable across continue-as-new, so email send keys stay unique per escalation.
    chain_id: str
    status: EscalationStatus = EscalationStatus.open
    level: int = Field(description="The ladder level (1-based) responsible now; stays at the last level once with ops.")
    level_reached_at: datetime
    with_ops: bool = Field(False, description="Past the last level: ops have been told and it stays open.")
    levels: list[LevelChange] = Field(default_factory=list)
    acknowledgements: list[AcknowledgementRecord] = Field(default_factory=list)
    care: CareRecord = Field(default_factory=CareRecord)
    resolution: str = ""
    proposed_amendment: str | None = None
    resolved_by: str | None = None
    resolved_channel: Channel | None = None
    amendment_outcome: str | None = Field(None, description="How the approval of the proposed amendment ended.")
    withdrawn_reason: str = ""
    closed_by: str | None = None
    closed_at: datetime | None = None
    closed_channel: Channel | None = None
    closed_sent_by: str | None = None
    closed_cause: str = Field("", description="Why it was closed as cleared (its cause, or the confirmation).")
    clearing: Clearing | None = Field(None, description="Rules 2: its cause is gone (and what follows).")
    quiet_until: datetime | None = Field(
        None, description="Rules 2: raised again within its trigger's quiet period: nobody is paged before then.")
    cleared_told_at: datetime | None = Field(None, description="When the people it paged were told it closed.")
    unreachable: list[str] = Field(default_factory=list, description="Contacts whose email failed permanently.")
    runs: int = 1
    rules_version: int = Field(0, description="The rules this escalation follows (the partnership's; workflows/versions.py).")
    allow_short_durations: bool = Field(False, description="The partnership's setting: amendments are judged alike.")
    schedule_version: int = Field(
        0, description="The partnership's schedule version when raised (workflows/versions.py): 1 pages people in their working hours.")
    email_delays: dict[str, EmailDelay] = Field(
        default_factory=dict, description="Emails in flight still failing past the alert time, by send key.")

    @property
    def shown_level(self) -> int:
        """Its position as shown everywhere (:func:`shown_level`)."""
        return shown_level(self.level, self.with_ops)


class EscalationInput(EscalationFacts):
    partnership_workflow_id: str = Field(description="The parent: told of every level and status change by signal.")
    definition: PartnershipDefinition
    level: int = Field(1, ge=1, description="The ladder level (1-based) it starts at.")
    # Set when the workflow continues as new: the state it carries over.
    state: EscalationState | None = None
    rules_version: int = Field(0, description="The partnership's rules version: the escalation follows the same rules.")
    allow_short_durations: bool = Field(False, description="The partnership's setting: amendments are judged alike.")
    quiet_until: datetime | None = Field(
        None, description="Rules 2: the same cause was cleared within its trigger's quiet period: page nobody before then.")
    schedule_version: int = Field(
        0, description="The partnership's schedule version: from 1, its emails go in each person's working hours.")

    @classmethod
    def from_record(
        cls, record: EscalationRecord, partnership_workflow_id: str, definition: PartnershipDefinition,
        rules_version: int = 0, allow_short_durations: bool = False, quiet_until: datetime | None = None,
        schedule_version: int = 0,
    ) -> EscalationInput:
        return cls(
            partnership_workflow_id=partnership_workflow_id,
            definition=definition,
            rules_version=rules_version,
            allow_short_durations=allow_short_durations,
            quiet_until=quiet_until,
            schedule_version=schedule_version,
            **record.model_dump(include=set(EscalationFacts.model_fields) | {"level"}),
        )


class Acknowledge(Payload):
    actor: str
    note: str = ""
    channel: Channel = Channel.temporal
    sent_by: str | None = Field(
        None, description="Who sent it when not the actor: an API key's name, or a signed-in person (ops:<name>).")


class CareEntry(Payload):
    actor: str
    step: CareStep
    text: str
    party: str | None = Field(None, description="For 'acknowledge': whose perspective (default: the actor's party).")
    channel: Channel = Channel.temporal
    sent_by: str | None = Field(
        None, description="Who sent it when not the actor: an API key's name, or a signed-in person (ops:<name>).")


class Resolve(Payload):
    actor: str
    resolution: str
    amendment: str | None = Field(
        None, description="The proposed amendment: the full amended definition (YAML). The client, CLI, API and "
        "escalation page check it with the definitions loader before sending it.")
    channel: Channel = Channel.temporal
    sent_by: str | None = Field(
        None, description="Who sent it when not the actor: an API key's name, or a signed-in person (ops:<name>).")


class Withdraw(Payload):
    actor: str
    reason: str
    channel: Channel = Channel.temporal
    sent_by: str | None = Field(
        None, description="Who sent it when not the actor: an API key's name, or a signed-in person (ops:<name>).")


class ConfirmClearing(Payload):
    """Update ``confirm_clearing``: the current level answers that the escalation's cause is gone (rules 2)."""

    actor: str
    keep_open: bool = Field(False, description="Keep it open (the problem is not over); else it closes now.")
    note: str = ""
    channel: Channel = Channel.temporal
    sent_by: str | None = Field(
        None, description="Who sent it when not the actor: an API key's name, or a signed-in person (ops:<name>).")


class CauseCleared(Payload):
    """Signal ``cause_cleared`` from the partnership: the escalation's cause is gone, or (``gone``
    False) back again (rules 2)."""

    cause: str
    at: datetime
    gone: bool = True


class AmendmentDecided(Payload):
    """Signal ``amendment_decided`` to an escalation whose resolution proposed an amendment."""

    amendment_id: str
    applied: bool
    outcome: str


class EscalationChanged(Payload):
    """Signal ``escalation_changed`` to the partnership: an escalation's level or status moved."""

    escalation_id: str
    level: int
    status: EscalationStatus
    with_ops: bool = False
    at: datetime
    cause: str = ""
    # With status awaiting_amendment: the amended definition (YAML) the resolution depends on.
    amendment: str | None = None


def escalation_id(n: int) -> str:
    """The partnership's n-th escalation (from 1)."""
    return f"esc-{n}"


def escalation_workflow_id(partnership_workflow_id: str, chain_id: str, escalation_id: str) -> str:
    """The escalation's own (child) workflow id: ``partnership-x.esc-1.1a2b3c4d``.

    Escalation ids restart at esc-1 when a partnership is started afresh under the same
    id, while an abandoned child of the earlier life may still run: the chain id (the
    partnership's first run id) tells them apart. No '/', so it fits a URL path segment.
    """
    return f"{partnership_workflow_id}.{escalation_id}.{chain_id[:8]}"
