"""An escalation link: it names the escalation's own workflow (a child of the partnership);
the page shows its whole record and offers the next steps; each form sends one of that
workflow's updates, acting as the link's recipient."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from accord import tokens
from accord.client import Accord
from accord.logic import limits
from accord.models import (
    Acknowledge,
    CareEntry,
    CareStep,
    Channel,
    ConfirmClearing,
    EscalationState,
    Resolve,
    UpdateResult,
    Withdraw,
)
from accord.web.actions.common import (
    FormError,
    Page,
    check_length,
    form_text,
    person_name,
    when,
)
from accord.web.people import Person
from accord.web.problems import Problem

# Step -> (title, what it records), in order: for the page (accord.models.CareStep holds them).
CARE_STEPS = {step.value: (step.label, step.meaning) for step in CareStep}
ESCALATION_ACTIONS = ("acknowledge", "care", "resolve", "withdraw")


@dataclass(frozen=True)
class PartyRow:
    id: str
    name: str
    note: Any  # CareNote | None: the party's recorded perspective


def escalation_page(claim: tokens.Claim, esc: EscalationState, *, people: Mapping[str, Person] | None = None,
                    parties: list[tuple[str, str]] | None = None, you_party: str | None = None) -> Page:
    """``parties`` are the partnership's (id, name) pairs and ``you_party`` the recipient's
    party, from the definition (None when it cannot be read: the CARE record still shows)."""
    if claim.ref != esc.id:
        raise Problem(404, "No such escalation", f"This link is for escalation {claim.ref!r}, which this record is not.")
    if esc.status.is_final:
        # Accord itself closes an escalation whose cause went away: no person to name.
        by = f" by {person_name(people, esc.closed_by)}" if esc.closed_by and esc.closed_by != "accord" else ""
        what = (f"Resolution: {esc.resolution}" if esc.resolution else
                f"Reason: {esc.withdrawn_reason}" if esc.withdrawn_reason else
                f"Why: {esc.closed_cause}" if esc.closed_cause else "")
        raise Problem(409, f"This escalation is {esc.status.value}",
                      f"Escalation {esc.id} on {esc.partnership} was {esc.status.value}{by} on {when(esc.closed_at)}. "
                      f"{what}".strip())
    party_ids = [p for p, _ in parties] if parties else sorted({*esc.care.acknowledge})
    names = dict(parties or [])
    rows = [PartyRow(p, names.get(p, p), esc.care.acknowledge.get(p)) for p in party_ids]
    missing = esc.care.missing(party_ids) if parties else None  # None: not known without the definition
    acknowledged_by_you = next((a for a in esc.acknowledgements if a.actor == claim.recipient), None)
    return Page("action_escalation.html", {
        "esc": esc,
        "you": claim.recipient,
        "you_name": person_name(people, claim.recipient),
        "acknowledged_by_you": acknowledged_by_you,
        "care_steps": CARE_STEPS,
        "party_rows": rows,
        # Rules 1: a party's perspective comes from its own people (or ops, who have no link).
        "care_parties": [r for r in rows if r.id == you_party] if esc.rules_version >= 1 and you_party else rows,
        "you_party": you_party,
        "missing": missing,
        "name": lambda who: person_name(people, who),
    })


async def perform_escalation(accord: Accord, claim: tokens.Claim, form: Mapping[str, Any]) -> UpdateResult:
    """Send an escalation form to its workflow as the link's recipient.

    Raises FormError (nothing sent), accord.client.AmendmentInvalid (the amendment's
    problems; nothing sent) or ActionRefused (the workflow said no)."""
    wf, actor, channel = claim.workflow_id, claim.recipient, Channel.email_link
    action = form_text(form, "do")
    if action == "acknowledge":
        note = form_text(form, "note")
        check_length(note, "note", limits.MAX_TEXT)
        return await accord.on_escalation(wf, "acknowledge", Acknowledge(actor=actor, note=note, channel=channel))
    if action == "care":
        step = form_text(form, "step")
        if step not in CARE_STEPS:
            raise FormError("Please choose a CARE step: clarify, acknowledge, reframe or explore.")
        text = form_text(form, "text")
        if not text:
            raise FormError(f"Please write the {CARE_STEPS[step][0]} step.")
        check_length(text, f"{CARE_STEPS[step][0]} text", limits.MAX_TEXT)
        party = (form_text(form, "party") or None) if step == "acknowledge" else None
        return await accord.on_escalation(
            wf, "record_care", CareEntry(actor=actor, step=CareStep(step), text=text, party=party, channel=channel))
    if action == "resolve":
        resolution = form_text(form, "resolution")
        if not resolution:
            raise FormError("Please describe the resolution.")
        check_length(resolution, "resolution", limits.MAX_TEXT)
        amended = form.get("amendment")
        amended = amended if isinstance(amended, str) and amended.strip() else None
        if amended is not None:
            check_length(amended, "amendment", limits.MAX_AMENDMENT)
        return await accord.on_escalation(
            wf, "resolve", Resolve(actor=actor, resolution=resolution, amendment=amended, channel=channel))
    if action == "confirm_clearing":
        # Rules 2: its cause is gone and this level was asked whether it may close.
        keep = form_text(form, "answer")
        if keep not in ("close", "keep_open"):
            raise FormError("Please choose: close it, or keep it open.")
        note = form_text(form, "note")
        check_length(note, "note", limits.MAX_TEXT)
        return await accord.on_escalation(
            wf, "confirm_clearing", ConfirmClearing(actor=actor, keep_open=keep == "keep_open", note=note, channel=channel))
    if action == "withdraw":
        reason = form_text(form, "reason")
        if not reason:
            raise FormError("Please give a reason for withdrawing the escalation.")
        check_length(reason, "reason", limits.MAX_TEXT)
        return await accord.on_escalation(wf, "withdraw", Withdraw(actor=actor, reason=reason, channel=channel))
    raise FormError("Please use one of the forms on this page.")

