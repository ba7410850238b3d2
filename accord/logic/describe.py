"""How the workflows name things for people: people and parties by name (never by id alone),
who acted for whom, times (one formatting function, :func:`when`), and what an escalation is
about in a few words.

Every text a workflow writes for a person (status line, timeline, email) goes through these,
so a change of wording is made once. Pure: the definition in force and the state are passed in.
"""

from __future__ import annotations

from datetime import datetime

from accord.logic import permissions
from accord.logic.time_display import format_instant
from accord.models import GO_NO_GO, MOU, PartnershipState, TriggerKind
from definitions.schema import PartnershipDefinition, Stakeholder


def when(moment: datetime | None) -> str:
    """A date and time for people: ``"Monday 2 March 2026, 10:00 UTC"`` (UTC until people have
    zones of their own); a moment the record does not hold reads as such, not as an error."""
    return format_instant(moment) if moment is not None else "an unrecorded date"


def person(definition: PartnershipDefinition, who: str, known: dict[str, Stakeholder] | None = None) -> str:
    """A stakeholder's name; ops as "ops" (with the signed-in person's name); ``ops-<n>`` as that
    ops contact's name; anything else (an unknown id, "accord") as it is. ``known``: the
    definition's stakeholders by id, when the caller names many people at once."""
    found = (definition.stakeholders() if known is None else known).get(who)
    if found is not None:
        return found.name
    if who.startswith("ops-") and who[4:].isdigit() and int(who[4:]) < len(definition.ops):
        return definition.ops[int(who[4:])].name
    name = permissions.ops_name(who)
    return f"ops ({name})" if name else who


def people(definition: PartnershipDefinition, ids: list[str]) -> str:
    """``"Ann Alpha, Ben Beta"``, or "nobody"."""
    # One lookup table for all of them: the status line names everyone asked, on every change.
    known = definition.stakeholders()
    return ", ".join(person(definition, w, known) for w in ids) or "nobody"


def party(definition: PartnershipDefinition, party_id: str) -> str:
    """A party's name (an unknown id as it is)."""
    return next((p.name for p in definition.parties if p.id == party_id), party_id)


def sender(sent_by: str) -> str:
    """Who sent an action for someone else: a signed-in person (``ops:<name>``) or an API key."""
    name = permissions.ops_name(sent_by)
    return name if name else f"API key {sent_by}"


def acted(definition: PartnershipDefinition, actor: str, sent_by: str | None = None) -> str:
    """Who acted, as the record shows it: ``"Ann Alpha"``, ``"Ann Alpha (by API key crm-sync)"``."""
    name = person(definition, actor)
    return f"{name} (by {sender(sent_by)})" if sent_by and sent_by != actor else name


def approval_title(approval_id: str, title: str) -> str:
    """An approval with its id, which the CLI and the API take: ``"MOU signature [mou]"``."""
    return f"{title} [{approval_id}]"


def approval_kind(approval_id: str) -> str:
    """What sort of decision an approval is: go-no-go, mou, amendment, renewal."""
    if approval_id in (GO_NO_GO, MOU):
        return approval_id
    return approval_id.rsplit("-", 1)[0]


def escalation_what(trigger: TriggerKind, subject: str, reason: str, state: PartnershipState,
                    definition: PartnershipDefinition) -> str:
    """What an escalation is about, in a few words, for subjects and the status line."""
    if trigger == TriggerKind.overdue:
        task = state.tasks.get(subject)
        approval = state.approvals.get(subject)
        title = task.title if task else approval.title if approval else subject
        return f"{title} is overdue"
    if trigger == TriggerKind.alignment:
        return "goal statements diverge"
    if trigger == TriggerKind.red_status:
        return "weekly status is red"
    if trigger == TriggerKind.repeated_amber:
        return "weekly status amber again and again"
    if trigger == TriggerKind.missed_updates:
        if any(p.id == subject for p in definition.parties):
            return f"{party(definition, subject)} missed weekly status updates"
        return "reviews without inputs"
    if trigger == TriggerKind.missed_target:
        metric = next((m for m in definition.metrics if m.id == subject), None)
        return f"{metric.name if metric else subject} missed its target"
    if trigger == TriggerKind.imbalance:
        return "mutual value out of balance"
    text = " ".join(reason.split())
    return text if len(text) <= 80 else text[:79] + "…"
