"""What an action link shows and does.

``claim_for`` turns a token into a claim (or a problem page), ``page_for`` decides from
the claim and the workflow's current state what the person sees, and ``perform`` turns
the submitted form into the matching client update. The page checks are for clarity
only: the workflow's update validators decide, so a stale page can never act wrongly.

A decision on a document (the MOU) shows the document itself, loaded from the document
store and verified against the hash the workflow recorded; if it cannot be shown, there
is no form: nobody signs what they cannot read.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from accord import tokens
from accord.client import Accord, ActionRefused
from accord.logic import approvals, evidence, limits
from accord.logic.permissions import COMPLETABLE
from accord.logic.rules.decisions import may_request_changes, needs_reason
from accord.logic.rules.partnership import statement_text
from accord.models import (
    MOU,
    Acknowledge,
    ApprovalOutcome,
    ApprovalState,
    CareEntry,
    CareStep,
    Channel,
    ConfirmClearing,
    Decision,
    DecisionInput,
    DecisionKind,
    DelegationInput,
    EscalationState,
    MetricObservationInput,
    PartnershipState,
    Rag,
    Resolve,
    ReviewInputSubmission,
    ReviewKind,
    Stage,
    StatementSubmission,
    Task,
    TaskCompletion,
    TaskKind,
    TaskStatus,
    UpdateResult,
    Withdraw,
    baseline_task_id,
    metric_of,
    statement_task_id,
)
from accord.storage import Storage
from accord.web import documents as docs
from accord.web.people import Person
from accord.web.problems import Problem
from definitions.schema import PartnershipDefinition

DELEGATE = "delegate"  # the delegation form's "decision" value


class FormError(Exception):
    """The form is incomplete: show it again with this message; nothing was sent."""


@dataclass(frozen=True)
class Page:
    template: str
    context: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Signer:
    """One row of the "who decides" table."""

    id: str
    name: str
    detail: str  # role and party, when known
    you: bool
    decision: Decision | None
    waiting: bool  # asked now: undecided (sequential: the next in order)
    on_behalf_of: list[str] = field(default_factory=list)


def claim_for(token: str, keys: list[str]) -> tokens.Claim:
    try:
        return tokens.verify(token, keys)
    except tokens.TokenError as exc:
        if exc.claim is not None:
            raise Problem(
                410,
                "This link has expired",
                f"It stopped working on {_when(exc.claim.expires_at)}. "
                "Please ask the partnership's ops contact for a new one.",
            ) from None
        raise Problem(400, "This link does not work", exc.reason) from None


async def page_for(claim: tokens.Claim, state: PartnershipState, *, documents: Storage | None = None,
                   people: Mapping[str, Person] | None = None, definition: PartnershipDefinition | None = None) -> Page:
    """``documents`` is where a decision's document is read from; ``people`` names the
    stakeholders (None when the definition could not be read: ids are shown, and no delegation);
    ``definition`` (the one in force) names a review's metrics."""
    if asks_baseline(claim) is not None:
        page = _baseline_page(claim, state, definition)
    elif claim.action == "task":
        page = _task_page(claim, state)
    elif claim.action == "statement":
        page = _statement_page(claim, state)
    elif claim.action == "decision":
        page = await _decision_page(claim, state, documents, people, definition)
    elif claim.action == "review":
        page = _review_page(claim, state, definition)
    else:
        raise Problem(400, "This link does not work", "This link asks for an action Accord does not know.")
    _check_open(state)
    return page


def _check_open(state: PartnershipState) -> None:
    if state.stage.is_final:
        raise Problem(409, "This partnership is closed", f"{state.name} is {state.stage.value}: nothing more is asked here.")


def _task_page(claim: tokens.Claim, state: PartnershipState) -> Page:
    task = state.tasks.get(claim.ref)
    if task is None or task.kind not in COMPLETABLE:
        raise Problem(404, "No such task", f"{state.name} has no task {claim.ref!r}.")
    return Page("action_task.html", {"task": _check_task(claim, state, task)})


def asks_baseline(claim: tokens.Claim) -> str | None:
    """The metric whose baseline the link asks for: a baseline link names the metric; a task
    link to the baseline task (emails sent before rules 2) names the task."""
    if claim.action == "baseline":
        return claim.ref
    if claim.action == "task" and claim.ref.startswith(baseline_task_id("")):
        return metric_of(claim.ref)
    return None


def _baseline_page(claim: tokens.Claim, state: PartnershipState, definition: PartnershipDefinition | None) -> Page:
    """Capture a metric's baseline: its owner records today's value (the ``record_metric``
    update, which completes the baseline task)."""
    metric_id = asks_baseline(claim) or ""
    task = state.tasks.get(baseline_task_id(metric_id))
    if task is None or task.kind != TaskKind.baseline:
        raise Problem(404, "No baseline to record", f"{state.name} asks for no baseline of {metric_id!r}.")
    metric = next((m for m in definition.metrics if m.id == metric_id), None) if definition is not None else None
    return Page("action_task.html", {"task": _check_task(claim, state, task), "metric": metric})


def _check_task(claim: tokens.Claim, state: PartnershipState, task: Task) -> Task:
    """The task, if the link's recipient can still do it (else the page that says why)."""
    if task.status == TaskStatus.waived:
        raise Problem(409, "This task was waived", f"'{task.title}' is no longer needed.")
    if task.status == TaskStatus.done:
        raise Problem(
            409,
            "This task is already completed",
            f"'{task.title}' was completed by {task.completed_by} on {_when(task.completed_at)}.",
        )
    if claim.recipient != task.owner:
        raise Problem(403, "This task is someone else's", f"'{task.title}' is assigned to {task.owner}.")
    return task


def _review_page(claim: tokens.Claim, state: PartnershipState, definition: PartnershipDefinition | None) -> Page:
    review = state.reviews.get(claim.ref)
    if review is None or review.opened_at is None:
        raise Problem(404, "No such review", f"{state.name} has no open review {claim.ref!r}.")
    if claim.recipient not in review.participants:
        raise Problem(403, "This review asks someone else", f"{review.kind.title} #{review.n} asks {', '.join(review.participants)}.")
    if review.closed_at is not None:
        raise Problem(409, "This review is closed", f"{review.kind.title} #{review.n} closed on {_when(review.closed_at)}; "
                      "inputs are no longer taken.")
    metrics = []
    if definition is not None and review.kind != ReviewKind.weekly_status:
        metrics = [m for m in definition.metrics if m.owner == claim.recipient]
    prompt = ""
    if definition is not None and definition.reviews.weekly_status is not None:
        prompt = definition.reviews.weekly_status.prompt
    earlier = review.inputs.get(claim.recipient)
    open_actions = [state.tasks[t] for t in review.actions_checked if t in state.tasks and state.tasks[t].is_open]
    return Page("action_review.html", {
        "review": review, "metrics": metrics, "prompt": prompt, "earlier": earlier, "open_actions": open_actions,
        "weekly": review.kind == ReviewKind.weekly_status, "annual": review.kind == ReviewKind.annual_mutual_value,
    })


def _statement_page(claim: tokens.Claim, state: PartnershipState) -> Page:
    if claim.ref != statement_task_id(claim.recipient):
        raise Problem(403, "This statement is someone else's", "This link is for another person's statement.")
    task = state.tasks.get(claim.ref)
    if task is None:
        raise Problem(404, "No statement is asked of you", f"{state.name} asks no goal statement of {claim.recipient}.")
    alignment = state.alignment
    if state.stage != Stage.screening or alignment.passed:
        if alignment.overridden_by:
            how = f"it was overridden by {alignment.overridden_by}: {alignment.override_reason}"
        elif alignment.result is not None and not alignment.result.blocked:
            how = f"the statements agree closely enough (divergence {alignment.result.divergence:.2f})"
        else:
            how = f"the partnership has moved on to {state.stage.value}"
        raise Problem(409, "The goal-alignment check is closed", f"No more statements are needed: {how}.")
    previous = alignment.statements.get(claim.recipient)
    blocked = alignment.result is not None and alignment.result.blocked
    if previous is not None and not blocked:
        raise Problem(
            409,
            "Your statement is already recorded",
            f"You submitted it on {_when(previous.at)}. Revisions open only if the statements diverge.",
        )
    others = [s for s in alignment.statements.values() if s.stakeholder != claim.recipient] if blocked else []
    return Page(
        "action_statement.html",
        {"task": task, "prompt": task.description, "previous": previous, "blocked": blocked,
         "result": alignment.result, "others": others},
    )


async def _decision_page(claim: tokens.Claim, state: PartnershipState, documents: Storage | None,
                         people: Mapping[str, Person] | None, definition: PartnershipDefinition | None = None) -> Page:
    approval = state.approvals.get(claim.ref)
    if approval is None:
        raise Problem(404, "No such decision", f"{state.name} has no approval {claim.ref!r}.")
    if approval.outcome != ApprovalOutcome.pending:
        raise Problem(409, "This decision is closed", f"{approval.title} ended: {approval.outcome.value.replace('_', ' ')}.")
    if claim.round < approval.round:
        version = f" on version {approval.document_version} of the document" if approval.document_version else ""
        raise Problem(
            409,
            "This link is for an earlier round",
            f"This link was for round {claim.round} of {approval.title}; it has been superseded by round "
            f"{approval.round}{version}. Please use the link in the newest email.",
        )
    if claim.round != approval.round:
        raise Problem(409, "This round has not started", f"{approval.title} is in round {approval.round}.")
    if claim.recipient not in approval.approvers:
        handed = next((d for d in reversed(approval.delegations) if d.delegator == claim.recipient), None)
        if handed is not None:
            raise Problem(
                409,
                "You delegated this decision",
                f"You delegated {approval.title} to {_name(people, handed.delegate)} on {_when(handed.at)}"
                f" ({handed.reason}). They decide in your place.",
            )
        raise Problem(403, "You are not asked to decide", f"{claim.recipient} is not an approver of {approval.title}.")
    decisions = {d.actor: d for d in reversed(approval.decisions_in_round())}  # first decision wins
    earlier = decisions.get(claim.recipient)
    if earlier is not None:
        raise Problem(
            409,
            "You have already decided",
            f"You decided '{earlier.decision.value.replace('_', ' ')}' on {_when(earlier.at)}"
            f"{' (' + earlier.comment + ')' if earlier.comment else ''}. The first decision counts.",
        )
    waiting = _waiting_on(approval)
    if approval.policy == "sequential" and claim.recipient not in waiting:
        raise Problem(409, "It is not your turn yet", f"The signing order is {', '.join(approval.approvers)}.")

    document = None
    if approval.document_hash:
        _check_open(state)  # before reading the document: "closed" says more than a missing file
        what = "the MOU" if approval.id == MOU else "the document"
        if documents is None:
            raise Problem(500, "The document cannot be shown", f"Accord has no document store to read {what} from.")
        document = await docs.show(documents, state, approval.document_version, approval.document_hash, what)
    delegated_by: dict[str, list[str]] = {}
    for d in approval.delegations:
        delegated_by.setdefault(d.delegate, []).append(_name(people, d.delegator))
    signers = [
        Signer(id=who, name=_name(people, who), detail=_detail(people, who), you=who == claim.recipient,
               decision=decisions.get(who), waiting=who in waiting, on_behalf_of=delegated_by.get(who, []))
        for who in approval.approvers
    ]
    candidates = sorted(
        (p for p in (people or {}).values() if p.id not in approval.approvers), key=lambda p: p.name.casefold()
    )
    return Page("action_decision.html", {
        "approval": approval,
        # What the emails show besides the ask: an amendment's changes, what a new MOU version
        # changed and the changes asked for, a go/no-go's or renewal's evidence (rules 2).
        "sections": evidence.sections(approval, state, definition) if definition is not None else [],
        "document": document,
        "signers": signers,
        "policy": _policy_words(approval),
        "sequential": approval.policy == "sequential",
        "reject_label": "Decline" if document else "Reject",
        # Rules 1: only a document can be changed (the workflow refuses it otherwise).
        "can_request_changes": may_request_changes(approval, state.rules_version),
        "parties_waiting": [_party_name(people, approval, p) for p in approval.parties_waiting],
        "candidates": candidates if approval.allow_delegation else [],
        "people_known": people is not None,
        "delegate_value": DELEGATE,
    })


def _party_name(people: Mapping[str, Person] | None, approval: ApprovalState, party: str) -> str:
    """A party's name, from any of its people (the approval names the party's people in force)."""
    person = next(((people or {}).get(who) for who in approval.parties.get(party, []) if (people or {}).get(who)), None)
    return person.party if person else party


def _policy_words(approval: ApprovalState) -> str:
    n = len(approval.approvers)
    return {
        "all": f"all {n} must approve",
        "any": "one approval is enough",
        "quorum": f"{approval.quorum or n} of {n} must approve",
        "sequential": f"all {n} must approve, one after another in the order below",
    }.get(approval.policy, approval.policy)


def _name(people: Mapping[str, Person] | None, who: str) -> str:
    person = (people or {}).get(who)
    return person.name if person else who


def _detail(people: Mapping[str, Person] | None, who: str) -> str:
    person = (people or {}).get(who)
    return f"{person.role}, {person.party}" if person else ""


async def perform(accord: Accord, claim: tokens.Claim, form: Mapping[str, Any], page: Page | None = None) -> UpdateResult:
    """Send the form to the workflow; raise FormError (nothing sent) or Problem (refused).

    ``page`` is the page the form belongs to, as it would be shown now: a decision on a
    document is sent only if the form names the very version that page shows.
    """
    try:
        return await _send(accord, claim, form, page)
    except ActionRefused as exc:
        raise Problem(409, "This could not be done", exc.message) from None


async def _send(accord: Accord, claim: tokens.Claim, form: Mapping[str, Any], page: Page | None) -> UpdateResult:
    wf = claim.workflow_id
    metric_id = asks_baseline(claim)
    if metric_id is not None:
        value = _number(form, "value")
        if value is None:
            raise FormError("Please give today's value: it is the baseline the target is measured from.")
        return await accord.record_metric(wf, MetricObservationInput(
            metric_id=metric_id, value=value, actor=claim.recipient, channel=Channel.email_link))
    if claim.action == "task":
        result = _text(form, "result")
        if limits.too_long(result, limits.FORM_TEXT):
            raise FormError(f"Please keep the notes under {limits.FORM_TEXT:,} characters.")
        return await accord.complete_task(
            wf, TaskCompletion(task_id=claim.ref, actor=claim.recipient, result=result, channel=Channel.email_link)
        )
    if claim.action == "statement":
        if claim.ref != statement_task_id(claim.recipient):
            raise Problem(403, "This statement is someone else's", "This link is for another person's statement.")
        text = _text(form, "text")
        if not text:
            raise FormError("Please write your statement.")
        refusal = statement_text(text)  # the workflow's own rule, in its own words
        if refusal:
            raise FormError(refusal)
        return await accord.submit_statement(
            wf, StatementSubmission(stakeholder=claim.recipient, text=text, channel=Channel.email_link)
        )
    if claim.action == "decision":
        choice = _text(form, "decision")
        if choice == DELEGATE:
            return await _delegate(accord, claim, form)
        try:
            decision = DecisionKind(choice)
        except ValueError:
            raise FormError("Please choose approve, reject or request changes.") from None
        document = page.context.get("document") if page is not None else None
        if document is not None and _text(form, "document_hash") != document.hash:
            raise Problem(
                409,
                "Please read the current version",
                f"This form is not for the version now up for decision (version {document.version}, "
                f"SHA-256 {document.hash}). Please open the link again, read it, and decide there.",
            )
        comment = _text(form, "comment")
        if needs_reason(decision) and not comment:
            what = "requesting changes" if decision == DecisionKind.request_changes else (
                "declining" if document is not None else "rejecting")
            raise FormError(f"Please give a reason for {what}.")
        if limits.too_long(comment, limits.FORM_TEXT):
            raise FormError(f"Please keep the comment under {limits.FORM_TEXT:,} characters.")
        return await accord.decide(
            wf,
            DecisionInput(approval_id=claim.ref, actor=claim.recipient, decision=decision, comment=comment,
                          round=claim.round, channel=Channel.email_link,
                          # The workflow checks it too: a form for an older version is refused there.
                          document_hash=_text(form, "document_hash")),
        )
    if claim.action == "review":
        return await _review_input(accord, claim, form, page)
    raise Problem(400, "This link does not work", "This link asks for an action Accord does not know.")


async def _review_input(accord: Accord, claim: tokens.Claim, form: Mapping[str, Any], page: Page | None) -> UpdateResult:
    """The input first (the workflow checks it); then each metric value given, as its owner."""
    note = _text(form, "note")
    if limits.too_long(note, limits.FORM_TEXT):
        raise FormError(f"Please keep the note under {limits.FORM_TEXT:,} characters.")
    rag = None
    if _text(form, "rag"):
        try:
            rag = Rag(_text(form, "rag"))
        except ValueError:
            raise FormError("Please choose green, amber or red.") from None
    values = {m.id: _number(form, f"metric-{m.id}") for m in (page.context.get("metrics", []) if page else [])}
    result = await accord.submit_review_input(claim.workflow_id, ReviewInputSubmission(
        review_id=claim.ref, stakeholder=claim.recipient, rag=rag, note=note, channel=Channel.email_link,
        contribution=_number(form, "contribution"), benefit=_number(form, "benefit"),
    ))
    for metric_id, value in values.items():
        if value is not None:
            await accord.record_metric(claim.workflow_id, MetricObservationInput(
                metric_id=metric_id, value=value, actor=claim.recipient, channel=Channel.email_link))
    return result


def _number(form: Mapping[str, Any], name: str) -> float | None:
    text = _text(form, name)
    if not text:
        return None
    try:
        value = float(text.replace(",", "."))
    except ValueError:
        raise FormError(f"{name.replace('metric-', '').replace('-', ' ').capitalize()}: {text!r} is not a number.") from None
    if not math.isfinite(value):  # NaN or infinite
        raise FormError(f"{name}: please give a finite number.")
    return value


async def _delegate(accord: Accord, claim: tokens.Claim, form: Mapping[str, Any]) -> UpdateResult:
    to = _text(form, "to")
    reason = _text(form, "reason")
    if not to:
        raise FormError("Please choose the person to delegate to.")
    if not reason:
        raise FormError("Please give a reason for delegating.")
    if limits.too_long(reason, limits.FORM_TEXT):
        raise FormError(f"Please keep the reason under {limits.FORM_TEXT:,} characters.")
    return await accord.delegate(
        claim.workflow_id,
        DelegationInput(approval_id=claim.ref, actor=claim.recipient, to=to, reason=reason, round=claim.round,
                        channel=Channel.email_link),
    )


def _text(form: Mapping[str, Any], name: str) -> str:
    value = form.get(name)
    return value.strip() if isinstance(value, str) else ""


def _waiting_on(approval: ApprovalState) -> list[str]:
    return approvals.evaluate(approval.policy, approval.approvers, approval.quorum, approval.decisions_in_round()).waiting_on


def _when(at: datetime | None) -> str:
    return f"{at:%Y-%m-%d %H:%M} UTC" if at else "an unknown date"


# ---------------------------------------------------------------------- escalations
# An escalation link names the escalation's own workflow (a child of the partnership):
# the page shows its whole record and offers the next steps; each form sends one of
# that workflow's updates, acting as the link's recipient.

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
        by = f" by {_name(people, esc.closed_by)}" if esc.closed_by and esc.closed_by != "accord" else ""
        what = (f"Resolution: {esc.resolution}" if esc.resolution else
                f"Reason: {esc.withdrawn_reason}" if esc.withdrawn_reason else
                f"Why: {esc.closed_cause}" if esc.closed_cause else "")
        raise Problem(409, f"This escalation is {esc.status.value}",
                      f"Escalation {esc.id} on {esc.partnership} was {esc.status.value}{by} on {_when(esc.closed_at)}. "
                      f"{what}".strip())
    party_ids = [p for p, _ in parties] if parties else sorted({*esc.care.acknowledge})
    names = dict(parties or [])
    rows = [PartyRow(p, names.get(p, p), esc.care.acknowledge.get(p)) for p in party_ids]
    missing = esc.care.missing(party_ids) if parties else None  # None: not known without the definition
    acknowledged_by_you = next((a for a in esc.acknowledgements if a.actor == claim.recipient), None)
    return Page("action_escalation.html", {
        "esc": esc,
        "you": claim.recipient,
        "you_name": _name(people, claim.recipient),
        "acknowledged_by_you": acknowledged_by_you,
        "care_steps": CARE_STEPS,
        "party_rows": rows,
        # Rules 1: a party's perspective comes from its own people (or ops, who have no link).
        "care_parties": [r for r in rows if r.id == you_party] if esc.rules_version >= 1 and you_party else rows,
        "you_party": you_party,
        "missing": missing,
        "name": lambda who: _name(people, who),
    })


async def perform_escalation(accord: Accord, claim: tokens.Claim, form: Mapping[str, Any]) -> UpdateResult:
    """Send an escalation form to its workflow as the link's recipient.

    Raises FormError (nothing sent), accord.client.AmendmentInvalid (the amendment's
    problems; nothing sent) or ActionRefused (the workflow said no)."""
    wf, actor, channel = claim.workflow_id, claim.recipient, Channel.email_link
    action = _text(form, "do")
    if action == "acknowledge":
        note = _text(form, "note")
        _limit(note, "note", limits.MAX_TEXT)
        return await accord.on_escalation(wf, "acknowledge", Acknowledge(actor=actor, note=note, channel=channel))
    if action == "care":
        step = _text(form, "step")
        if step not in CARE_STEPS:
            raise FormError("Please choose a CARE step: clarify, acknowledge, reframe or explore.")
        text = _text(form, "text")
        if not text:
            raise FormError(f"Please write the {CARE_STEPS[step][0]} step.")
        _limit(text, f"{CARE_STEPS[step][0]} text", limits.MAX_TEXT)
        party = (_text(form, "party") or None) if step == "acknowledge" else None
        return await accord.on_escalation(
            wf, "record_care", CareEntry(actor=actor, step=CareStep(step), text=text, party=party, channel=channel))
    if action == "resolve":
        resolution = _text(form, "resolution")
        if not resolution:
            raise FormError("Please describe the resolution.")
        _limit(resolution, "resolution", limits.MAX_TEXT)
        amended = form.get("amendment")
        amended = amended if isinstance(amended, str) and amended.strip() else None
        if amended is not None:
            _limit(amended, "amendment", limits.MAX_AMENDMENT)
        return await accord.on_escalation(
            wf, "resolve", Resolve(actor=actor, resolution=resolution, amendment=amended, channel=channel))
    if action == "confirm_clearing":
        # Rules 2: its cause is gone and this level was asked whether it may close.
        keep = _text(form, "answer")
        if keep not in ("close", "keep_open"):
            raise FormError("Please choose: close it, or keep it open.")
        note = _text(form, "note")
        _limit(note, "note", limits.MAX_TEXT)
        return await accord.on_escalation(
            wf, "confirm_clearing", ConfirmClearing(actor=actor, keep_open=keep == "keep_open", note=note, channel=channel))
    if action == "withdraw":
        reason = _text(form, "reason")
        if not reason:
            raise FormError("Please give a reason for withdrawing the escalation.")
        _limit(reason, "reason", limits.MAX_TEXT)
        return await accord.on_escalation(wf, "withdraw", Withdraw(actor=actor, reason=reason, channel=channel))
    raise FormError("Please use one of the forms on this page.")


def _limit(text: str, what: str, limit: int) -> None:
    if limits.too_long(text, limit):
        raise FormError(f"Please keep the {what} under {limit:,} characters.")

