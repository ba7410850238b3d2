"""Who may do what in a partnership: pure rules, read by the workflows' validators and by the
pages, the API and the CLI alike.

People act as themselves (a stakeholder id) or as ``ops``. Ops act through the CLI, the API or
Temporal itself, never through an email link, so an action that comes by one of those
channels may be taken for someone else (marking their task done, recording their metric).
Rules that changed with a rules version take the partnership's ``rules_version``.
"""

from __future__ import annotations

from accord.models import CareEntry, CareStep, Channel, Task, TaskKind
from definitions.schema import ApprovalRules, Metric, PartnershipDefinition

OPS = "ops"
# The partnership workflow itself (withdrawing its escalations when it closes).
ACCORD = "accord"
# Where ops act: never an email link.
OPS_CHANNELS = (Channel.cli, Channel.api, Channel.temporal)
# Where a metric may be recorded for its owner.
RECORDING_CHANNELS = (Channel.cli, Channel.api)

# Tasks a person marks done (the others complete through their own action: a statement,
# a metric's value, a review input).
COMPLETABLE = (TaskKind.checklist, TaskKind.deliverable, TaskKind.action, TaskKind.diagnostic)


def is_member(actor: str, definition: PartnershipDefinition) -> bool:
    """A stakeholder of the partnership, or ops."""
    return actor == OPS or actor in definition.stakeholders()


def not_a_member(actor: str, definition: PartnershipDefinition) -> str | None:
    """The refusal for an actor who is neither a stakeholder nor ops (None: a member)."""
    return None if is_member(actor, definition) else f"{actor!r} is not a stakeholder of this partnership."


def may_complete(task: Task, actor: str, channel: Channel) -> bool:
    """A task is marked done by its owner, or for them by ops."""
    return actor == task.owner or channel in OPS_CHANNELS


def may_record_metric(metric: Metric, actor: str, channel: Channel) -> bool:
    """A metric is recorded by its owner or ops, or for its owner through the CLI or the API."""
    return actor in (metric.owner, OPS) or channel in RECORDING_CHANNELS


def may_override_alignment(definition: PartnershipDefinition) -> list[str]:
    """Who may override the goal-alignment check: its ``override_by``, else the go/no-go approvers."""
    check = definition.screening.alignment
    return list(check.override_by if check and check.override_by else definition.screening.go_no_go.approvers)


def amendment_approvers(definition: PartnershipDefinition) -> tuple[ApprovalRules, list[str]]:
    """Who approves an amendment, under which rules: the MOU's signatories, else the go/no-go approvers."""
    if definition.mou is not None:
        return definition.mou, definition.mou.signatories
    return definition.screening.go_no_go, definition.screening.go_no_go.approvers


def may_close(actor: str, definition: PartnershipDefinition) -> bool:
    """Ops, or the approvers of amendments."""
    return actor == OPS or actor in amendment_approvers(definition)[1]


def care_party(entry: CareEntry, definition: PartnershipDefinition) -> str | None:
    """Whose perspective an acknowledge entry records: the party named, else the actor's (None
    for the other steps, which are the escalation's, not a party's)."""
    if entry.step != CareStep.acknowledge:
        return None
    return entry.party or definition.party_of(entry.actor).id


def speaks_for(actor: str, channel: Channel, party: str | None, definition: PartnershipDefinition) -> bool:
    """Rules 1: a party's perspective comes from that party's people, or from ops (who act through
    the CLI, the API or Temporal, never through an email link)."""
    if actor == OPS:
        return channel in OPS_CHANNELS
    return party is not None and any(s.id == actor for p in definition.parties if p.id == party for s in p.stakeholders)
