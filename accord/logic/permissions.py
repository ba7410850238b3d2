"""Who may do what in a partnership: pure rules, read by the workflows' validators and by the
pages, the API and the CLI alike.

People act as themselves (a stakeholder id) or as ``ops``. Ops act through the CLI, the API or
Temporal itself, never through an email link, so an action that comes by one of those
channels may be taken for someone else (marking their task done, recording their metric).
Under rules 2 a signed-in person acting as ops is recorded under their name, ``ops:<name>``
(``ops:alice@example.org``), and is ops wherever ``ops`` is (also on the web pages, where they
are signed in). Rules that changed with a rules version take the partnership's ``rules_version``.
"""

from __future__ import annotations

import unicodedata

from accord.models import CareEntry, CareStep, Channel, Task, TaskKind
from definitions.schema import ApprovalRules, Metric, PartnershipDefinition

OPS = "ops"
# ``ops:<name>``: a signed-in person acting as ops (rules 2); the name is one line, bounded.
OPS_PREFIX = "ops:"
MAX_OPS_NAME = 254
# The partnership workflow itself (withdrawing its escalations when it closes).
ACCORD = "accord"
# Where ops act: never an email link.
OPS_CHANNELS = (Channel.cli, Channel.api, Channel.temporal)
# Where a metric may be recorded for its owner.
RECORDING_CHANNELS = (Channel.cli, Channel.api)

# Tasks a person marks done (the others complete through their own action: a statement,
# a metric's value, a review input).
COMPLETABLE = (TaskKind.checklist, TaskKind.deliverable, TaskKind.action, TaskKind.diagnostic)


def ops_name(actor: str) -> str | None:
    """The name in ``ops:<name>`` (a signed-in person acting as ops), if it is one; else None."""
    if not actor.startswith(OPS_PREFIX):
        return None
    name = actor[len(OPS_PREFIX):]
    printable = all(not c.isspace() and unicodedata.category(c)[0] != "C" for c in name)
    return name if name and len(name) <= MAX_OPS_NAME and printable else None


def is_ops(actor: str, rules: int = 0) -> bool:
    """``ops``, or (rules 2) a signed-in person acting as ops, ``ops:<name>``."""
    return actor == OPS or (rules >= 2 and ops_name(actor) is not None)


def is_member(actor: str, definition: PartnershipDefinition, rules: int = 0) -> bool:
    """A stakeholder of the partnership, or ops."""
    return is_ops(actor, rules) or actor in definition.stakeholders()


def not_a_member(actor: str, definition: PartnershipDefinition, rules: int = 0) -> str | None:
    """The refusal for an actor who is neither a stakeholder nor ops (None: a member)."""
    return None if is_member(actor, definition, rules) else f"{actor!r} is not a stakeholder of this partnership."


def acts_for_others(actor: str, channel: Channel, rules: int = 0) -> bool:
    """Whoever comes through an ops channel may act for someone else; under rules 2 so does a
    signed-in ops person on the web pages (never through an email link: that is one person's)."""
    return channel in OPS_CHANNELS or (rules >= 2 and channel == Channel.web and is_ops(actor, rules))


def may_complete(task: Task, actor: str, channel: Channel, rules: int = 0) -> bool:
    """A task is marked done by its owner, or for them by ops."""
    return actor == task.owner or acts_for_others(actor, channel, rules)


def may_record_metric(metric: Metric, actor: str, channel: Channel, rules: int = 0) -> bool:
    """A metric is recorded by its owner or ops, or for its owner through the CLI or the API."""
    return actor == metric.owner or is_ops(actor, rules) or channel in RECORDING_CHANNELS


def may_override_alignment(definition: PartnershipDefinition) -> list[str]:
    """Who may override the goal-alignment check: its ``override_by``, else the go/no-go approvers."""
    check = definition.screening.alignment
    return list(check.override_by if check and check.override_by else definition.screening.go_no_go.approvers)


def amendment_approvers(definition: PartnershipDefinition) -> tuple[ApprovalRules, list[str]]:
    """Who approves an amendment, under which rules: the MOU's signatories, else the go/no-go approvers."""
    if definition.mou is not None:
        return definition.mou, definition.mou.signatories
    return definition.screening.go_no_go, definition.screening.go_no_go.approvers


def may_close(actor: str, definition: PartnershipDefinition, rules: int = 0) -> bool:
    """Ops, or the approvers of amendments."""
    return is_ops(actor, rules) or actor in amendment_approvers(definition)[1]


def care_party(entry: CareEntry, definition: PartnershipDefinition) -> str | None:
    """Whose perspective an acknowledge entry records: the party named, else the actor's (None
    for the other steps, which are the escalation's, not a party's)."""
    if entry.step != CareStep.acknowledge:
        return None
    return entry.party or definition.party_of(entry.actor).id


def speaks_for(actor: str, channel: Channel, party: str | None, definition: PartnershipDefinition,
               rules: int = 1) -> bool:
    """Rules 1: a party's perspective comes from that party's people, or from ops (who act through
    the CLI, the API or Temporal, never through an email link; under rules 2 also a signed-in ops
    person on the web pages)."""
    if is_ops(actor, rules):
        return acts_for_others(actor, channel, rules)
    return party is not None and any(s.id == actor for p in definition.parties if p.id == party for s in p.stakeholders)
