"""An escalation's updates: acknowledging it, recording its CARE steps, resolving, withdrawing.

CARE before resolution is the point of the model: a resolution nobody clarified or reframed
is how the same conflict comes back; an escalation that is moot is withdrawn, with a reason.
"""

from __future__ import annotations

from accord.logic import limits, permissions
from accord.logic.describe import when
from accord.logic.rules.partnership import amendment_checks, check_sender
from accord.models import (
    Acknowledge,
    CareEntry,
    CareStep,
    ConfirmClearing,
    EscalationState,
    EscalationStatus,
    Resolve,
    Withdraw,
)
from definitions import loader
from definitions.schema import PartnershipDefinition


def _member(actor: str, definition: PartnershipDefinition, state: EscalationState, sent_by: str | None) -> None:
    refusal = permissions.not_a_member(actor, definition, state.rules_version)
    if refusal:
        raise ValueError(refusal)
    check_sender(state, sent_by)


def _open(state: EscalationState) -> None:
    if state.status.is_final:
        raise ValueError(f"This escalation is already {state.status.value}.")


def parse_amendment(text: str, state: EscalationState) -> PartnershipDefinition:
    """A resolution's amended definition (YAML), checked like ``accord validate`` under the
    partnership's rules and durations: a ValueError says what is wrong."""
    try:
        return loader.parse(text, "amendment", **amendment_checks(state))
    except loader.DefinitionError as exc:
        raise ValueError("The amended definition is not valid: " + "; ".join(str(i) for i in exc.issues[:5])) from None


def check_acknowledgement(state: EscalationState, definition: PartnershipDefinition, ack: Acknowledge) -> None:
    _member(ack.actor, definition, state, ack.sent_by)
    _open(state)
    limits.check_text(("The note", ack.note))
    earlier = next((a for a in state.acknowledgements if a.actor == ack.actor), None)
    if earlier is not None:
        raise ValueError(f"{ack.actor} already acknowledged it on {when(earlier.at)}.")


def check_care_entry(state: EscalationState, definition: PartnershipDefinition, entry: CareEntry) -> None:
    _member(entry.actor, definition, state, entry.sent_by)
    if state.status.is_final:
        raise ValueError(f"The CARE record is closed: the escalation is {state.status.value}.")
    limits.required_text(entry.text, f"The {entry.step} text")
    parties = [p.id for p in definition.parties]
    if entry.step == CareStep.acknowledge:
        if entry.party is None and entry.actor not in definition.stakeholders():
            raise ValueError("Say whose perspective this is: ops must name the party.")
        if entry.party is not None and entry.party not in parties:
            raise ValueError(f"{entry.party!r} is not a party of this partnership ({', '.join(parties)}).")
        if state.rules_version >= 1 and not permissions.speaks_for(
                entry.actor, entry.channel, permissions.care_party(entry, definition), definition, state.rules_version):
            # Rules 1: otherwise one party's person could fill in every perspective and
            # complete the record alone.
            named = next(p for p in definition.parties if p.id == entry.party)
            raise ValueError(f"{named.name}'s perspective is recorded by {named.name}'s people or by ops.")
    elif entry.party is not None:
        raise ValueError(f"A party is named only for the acknowledge step, not for {entry.step}.")


def check_resolution(state: EscalationState, definition: PartnershipDefinition, resolve: Resolve) -> None:
    _member(resolve.actor, definition, state, resolve.sent_by)
    _open(state)
    if state.status == EscalationStatus.awaiting_amendment:
        raise ValueError("A resolution is already waiting for its amendment's approval.")
    limits.required_text(resolve.resolution, "A resolution")
    if resolve.amendment is not None and limits.too_long(resolve.amendment, limits.MAX_AMENDMENT):
        raise ValueError(f"The amendment is longer than {limits.MAX_AMENDMENT:,} characters.")
    if resolve.amendment and resolve.amendment.strip():
        amended = parse_amendment(resolve.amendment, state)
        if amended.id != definition.id:
            raise ValueError(f"The amended definition is for {amended.id!r}, not {definition.id!r}.")
    missing = state.care.missing([p.id for p in definition.parties])
    if missing:
        raise ValueError(f"Record the CARE steps first: {', '.join(missing)} missing.")


def check_withdrawal(state: EscalationState, definition: PartnershipDefinition, withdraw: Withdraw, *,
                     by_partnership: bool = False) -> None:
    """``by_partnership``: the partnership's own request (a signal), which may come from "accord"."""
    if not (by_partnership and withdraw.actor == permissions.ACCORD):
        _member(withdraw.actor, definition, state, withdraw.sent_by)
    _open(state)
    limits.required_text(withdraw.reason, "A reason for withdrawing")


def check_confirm_clearing(state: EscalationState, definition: PartnershipDefinition, answer: ConfirmClearing) -> None:
    """Rules 2: the escalation's cause is gone and its current level was asked whether it may close."""
    _member(answer.actor, definition, state, answer.sent_by)
    _open(state)
    clearing = state.clearing
    if clearing is None or clearing.until is None:
        raise ValueError("Nobody asked to confirm this escalation's closing: its cause is not known to be gone.")
    if clearing.back_at is not None:
        raise ValueError("Its cause came back: the escalation stays open.")
    if clearing.kept_open_by is not None:
        raise ValueError(f"{clearing.kept_open_by} already kept it open.")
    limits.check_text(("The note", answer.note))
