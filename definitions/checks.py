"""Rules across fields that a person reading a definition would expect to hold.

Shape and types are pydantic's job (``schema.py``); this module checks what only the
whole file can tell: references to people, unique ids, reminders that fall before the
task starts, quorums larger than the approvers, triggers pointing past the ladder,
holiday regions the holiday data does not know, (rules version 1) the bounds of
:mod:`definitions.limits` that keep the workflow able to run what it was given, and (rules
version 2) the settings for clearing escalations and batching notices (the bounds themselves
are checked in :mod:`definitions.limit_checks`). Every problem is reported, not just the first.

This module runs inside workflow code (amendments are checked in update handlers):
it stays pure and deterministic, without clocks or the filesystem, and a running
partnership passes the rules version it started under, so it judges as it always did.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator, Sequence

from accord.logic.business_days import parse_region
from definitions.calendar_checks import (
    cadence_problems,
    shortest_gap,
    window_problems,
    zone_problem,
)
from definitions.limit_checks import TOO_MANY, ZERO, limit_problems
from definitions.limits import LATEST_RULES
from definitions.problem import Path, Problem
from definitions.schema import (
    Approval,
    ApprovalPolicy,
    ApprovalRules,
    ChecklistItem,
    ClearStatus,
    Deliverable,
    Formality,
    PartnershipDefinition,
    Reminders,
)

# What callers and tests read from here: the problem, and the messages the limits share.
__all__ = ["LATEST_RULES", "TOO_MANY", "ZERO", "Path", "Problem", "problems"]


def problems(d: PartnershipDefinition, *, rules: int = LATEST_RULES, allow_short: bool = False) -> list[Problem]:
    """Every problem with ``d``, judged by rules version ``rules`` (0: the rules before the
    limits, for partnerships started under them). ``allow_short`` lifts the minimum
    durations: the deployment's setting (tests, benchmarks), never the definition's."""
    found = list(_unique_ids(d)) + list(_refs(d, set(d.stakeholders())))
    if rules < 1:
        return found + list(_rules(d))
    found += limit_problems(d, allow_short)
    if not any(p.message.startswith(TOO_MANY) for p in found):
        # (Past the list limits the rules below would cost time quadratic in the lists' length.)
        try:
            found += list(_rules(d))
            if rules >= 2:
                found += list(_quiet_rules(d))
        except OverflowError:
            # A duration of millions of years cannot even be compared: it is reported above as
            # too long, and the rules comparing durations are checked once it is fixed.
            pass
    # "must be longer than zero" comes from both the old rules and the limits: say it once.
    return list(dict.fromkeys(found))


def _duplicates(ids: list[str]) -> set[str]:
    return {i for i, n in Counter(ids).items() if n > 1}


def _unique_ids(d: PartnershipDefinition) -> Iterator[Problem]:
    dup = _duplicates([p.id for p in d.parties])
    for i, party in enumerate(d.parties):
        if party.id in dup:
            yield Problem(("parties", i, "id"), f"duplicate party id {party.id!r}")
    dup = _duplicates([s.id for p in d.parties for s in p.stakeholders])
    for i, party in enumerate(d.parties):
        for j, s in enumerate(party.stakeholders):
            if s.id in dup:
                yield Problem(("parties", i, "stakeholders", j, "id"), f"duplicate stakeholder id {s.id!r}")
    # One address for two people: emailed decisions could not be told apart in the audit record.
    first_with_email: dict[str, str] = {}
    for i, party in enumerate(d.parties):
        for j, s in enumerate(party.stakeholders):
            other = first_with_email.setdefault(s.email.lower(), s.id)
            if other != s.id:
                yield Problem(
                    ("parties", i, "stakeholders", j, "email"),
                    f"email {s.email!r} is already used by stakeholder {other!r}; each stakeholder needs their own",
                )
    task_ids = [c.id for c in d.screening.checklist] + [c.id for c in d.launch.checklist]
    task_ids += [x.id for x in d.launch.deliverables]
    dup = _duplicates(task_ids)
    sections: list[tuple[Path, Sequence[ChecklistItem | Deliverable]]] = [
        (("screening", "checklist"), d.screening.checklist),
        (("launch", "checklist"), d.launch.checklist),
        (("launch", "deliverables"), d.launch.deliverables),
    ]
    for section, items in sections:
        for i, item in enumerate(items):
            if item.id in dup:
                yield Problem((*section, i, "id"), f"duplicate task id {item.id!r}")
    dup = _duplicates([m.id for m in d.metrics])
    for i, m in enumerate(d.metrics):
        if m.id in dup:
            yield Problem(("metrics", i, "id"), f"duplicate metric id {m.id!r}")


def _people_fields(d: PartnershipDefinition) -> Iterator[tuple[Path, str]]:
    """Every (path, stakeholder id) the definition refers to."""

    def each(path: Path, refs: list[str]) -> Iterator[tuple[Path, str]]:
        for k, ref in enumerate(refs):
            yield (*path, k), ref

    for i, item in enumerate(d.screening.checklist):
        yield ("screening", "checklist", i, "owner"), item.owner
    if d.screening.alignment:
        yield from each(("screening", "alignment", "participants"), d.screening.alignment.participants)
        yield from each(("screening", "alignment", "override_by"), d.screening.alignment.override_by)
    yield from each(("screening", "go_no_go", "approvers"), d.screening.go_no_go.approvers)
    for i, m in enumerate(d.metrics):
        yield ("metrics", i, "owner"), m.owner
    if d.mou:
        yield from each(("mou", "signatories"), d.mou.signatories)
    for i, item in enumerate(d.launch.checklist):
        yield ("launch", "checklist", i, "owner"), item.owner
    for i, deliverable in enumerate(d.launch.deliverables):
        yield ("launch", "deliverables", i, "owner"), deliverable.owner
    for name, cadence in d.reviews:
        if cadence is not None:
            yield from each(("reviews", name, "participants"), cadence.participants)
    for i, level in enumerate(d.escalation.ladder):
        yield from each(("escalation", "ladder", i, "contacts"), level.contacts)
    if d.renewal:
        yield from each(("renewal", "approval", "approvers"), d.renewal.approval.approvers)


def _refs(d: PartnershipDefinition, known: set[str]) -> Iterator[Problem]:
    hint = ", ".join(sorted(known))
    for path, ref in _people_fields(d):
        if ref not in known:
            what = "signatory" if path[:2] == ("mou", "signatories") else "stakeholder"
            yield Problem(path, f"{what} {ref!r} is not a stakeholder of any party (known: {hint})")


def _reminder_problems(path: Path, reminders: Reminders | None, deadline, what: str) -> Iterator[Problem]:
    if reminders is None:
        return
    for k, before in enumerate(reminders.before):
        if before.approx >= deadline.approx:
            when = "as" if before.approx == deadline.approx else "before"
            yield Problem(
                (*path, "reminders", "before", k),
                f"reminder {before} before the deadline falls {when} the {what} starts (deadline is {deadline})",
            )
    if reminders.overdue_every is not None and reminders.overdue_every.is_zero:
        yield Problem((*path, "reminders", "overdue_every"), "must be longer than zero")


def _task_problems(d: PartnershipDefinition, path: Path, due, own: Reminders | None) -> Iterator[Problem]:
    """A checklist item or deliverable: a deadline after zero, and reminders that fit before it."""
    if due.is_zero:
        yield Problem((*path, "due"), "must be longer than zero")
        return
    yield from _reminder_problems(path, own, due, "task")
    if own is None:
        for before in d.reminders.before:
            if before.approx >= due.approx:
                than = "the same as" if before.approx == due.approx else "shorter than"
                yield Problem(
                    (*path, "due"),
                    f"deadline {due} is {than} the default first reminder ({before} before it)",
                )
                break


def _approval_problems(path: Path, rules: ApprovalRules, approvers: list[str]) -> Iterator[Problem]:
    if rules.deadline.is_zero:
        yield Problem((*path, "deadline"), "must be longer than zero")
    if rules.policy == ApprovalPolicy.quorum:
        if rules.quorum is None:
            yield Problem((*path, "quorum"), "policy 'quorum' needs quorum: k (how many of the approvers must approve)")
        elif rules.quorum > len(approvers):
            yield Problem((*path, "quorum"), f"quorum {rules.quorum} is more than the {len(approvers)} approvers")
    elif rules.quorum is not None:
        yield Problem((*path, "quorum"), f"quorum only applies to policy 'quorum', not {rules.policy.value!r}")
    for k in sorted(_duplicates(approvers)):
        yield Problem(path, f"{k!r} is listed twice as an approver")
    yield from _reminder_problems(path, rules.reminders, rules.deadline, "approval")


def _rules(d: PartnershipDefinition) -> Iterator[Problem]:
    for k, before in enumerate(d.reminders.before):
        if before.is_zero:
            yield Problem(("reminders", "before", k), "must be longer than zero")
    checklists = ((("screening", "checklist"), d.screening.checklist), (("launch", "checklist"), d.launch.checklist))
    for section, items in checklists:
        for i, item in enumerate(items):
            yield from _task_problems(d, (*section, i), item.due, item.reminders)
    for i, deliverable in enumerate(d.launch.deliverables):
        yield from _task_problems(d, ("launch", "deliverables", i), deliverable.due, None)
    if d.screening.alignment:
        a = d.screening.alignment
        yield from _reminder_problems(("screening", "alignment"), a.reminders, a.due, "alignment check")
        parties_in = {d.party_of(p).id for p in a.participants if p in d.stakeholders()}
        missing = [p.name for p in d.parties if p.id not in parties_in]
        if missing and all(p in d.stakeholders() for p in a.participants):
            yield Problem(
                ("screening", "alignment", "participants"),
                f"every party must write a statement; none from {', '.join(missing)}",
            )
    approvals: list[tuple[Path, Approval | ApprovalRules, list[str]]] = [
        (("screening", "go_no_go"), d.screening.go_no_go, d.screening.go_no_go.approvers)
    ]
    if d.mou:
        approvals.append((("mou",), d.mou, d.mou.signatories))
    if d.renewal:
        approvals.append((("renewal", "approval"), d.renewal.approval, d.renewal.approval.approvers))
    for path, rules, approvers in approvals:
        yield from _approval_problems(path, rules, approvers)

    if d.formality == Formality.formal and d.mou is None:
        yield Problem(("mou",), "a formal partnership needs an MOU (or set formality: informal)")
    if d.mou:
        signing_parties = {d.party_of(s).id for s in d.mou.signatories if s in d.stakeholders()}
        unsigned = [p.name for p in d.parties if p.id not in signing_parties]
        if unsigned and all(s in d.stakeholders() for s in d.mou.signatories):
            yield Problem(("mou", "signatories"), f"every party must sign the MOU; no signatory for {', '.join(unsigned)}")

    for i, m in enumerate(d.metrics):
        if m.baseline is not None and m.baseline == m.target:
            yield Problem(("metrics", i, "target"), "target equals the baseline: nothing to achieve")
        elif m.baseline is not None and (m.target < m.baseline) == (m.direction.value == "increase"):
            yield Problem(
                ("metrics", i, "target"),
                f"target {m.target} is not {'an' if m.direction.value == 'increase' else 'a'} {m.direction.value} "
                f"from baseline {m.baseline}",
            )
        if m.cadence.is_zero:
            yield Problem(("metrics", i, "cadence"), "must be longer than zero")

    for name, cadence in d.reviews:
        if cadence is None:
            continue
        form = list(cadence_problems(cadence.every, cadence.rule))
        yield from (Problem(("reviews", name, *path), message) for path, message in form)
        if form:
            continue
        if cadence.every is not None and cadence.every.is_zero:
            yield Problem(("reviews", name, "every"), "must be longer than zero")
        elif cadence.inputs_due.is_zero:
            yield Problem(("reviews", name, "inputs_due"), "must be longer than zero")
        elif cadence.every is not None and cadence.inputs_due.approx > cadence.every.approx:
            yield Problem(
                ("reviews", name, "inputs_due"),
                f"inputs due after {cadence.inputs_due} but the next review comes after {cadence.every}",
            )
        elif cadence.rule is not None and cadence.inputs_due.approx > (gap := shortest_gap(cadence.rule)):
            # With a rule, inputs are due at the meeting and asked for inputs_due before it:
            # longer than the gap between meetings, one review would open before the last one met.
            yield Problem(
                ("reviews", name, "inputs_due"),
                f"inputs are asked for {cadence.inputs_due} before each meeting, but meetings can be as close as"
                f" {gap.days} day(s) apart",
            )

    for i, party in enumerate(d.parties):
        # Business days and working hours are kept in these zones: a typo must not mean UTC.
        if (message := zone_problem(party.timezone)) is not None:
            yield Problem(("parties", i, "timezone"), message)
        # The workflow builds working hours from these windows: one it cannot hold must not pass.
        yield from (Problem(("parties", i, "working_hours", *path), message)
                    for path, message in window_problems(party.working_hours))
        for j, person in enumerate(party.stakeholders):
            if (message := zone_problem(person.timezone)) is not None:
                yield Problem(("parties", i, "stakeholders", j, "timezone"), message)
            yield from (Problem(("parties", i, "stakeholders", j, "working_hours", *path), message)
                        for path, message in window_problems(person.working_hours))
        if party.holidays is not None:
            # Reviews are moved off this region's public holidays: a typo would silently
            # schedule them on holidays, so the region must be one the holiday data knows.
            try:
                parse_region(party.holidays)
            except ValueError as exc:
                yield Problem(("parties", i, "holidays"), str(exc))

    for i, level in enumerate(d.escalation.ladder):
        if level.respond_within.is_zero:
            yield Problem(("escalation", "ladder", i, "respond_within"), "must be longer than zero")
    for name, trigger in d.escalation.triggers:
        if trigger.level > len(d.escalation.ladder):
            yield Problem(
                ("escalation", "triggers", name, "level"),
                f"level {trigger.level} is beyond the ladder's {len(d.escalation.ladder)} level(s)",
            )

    if d.renewal and d.renewal.notice.approx >= d.renewal.term.approx:
        yield Problem(("renewal", "notice"), f"notice {d.renewal.notice} is not shorter than the term {d.renewal.term}")
    elif d.renewal and d.renewal.approval.deadline.approx > d.renewal.notice.approx:
        yield Problem(
            ("renewal", "approval", "deadline"),
            f"the renewal decision is due {d.renewal.approval.deadline} after it starts, but it starts only"
            f" {d.renewal.notice} before the term ends: the term would end before the decision",
        )


def _quiet_rules(d: PartnershipDefinition) -> Iterator[Problem]:
    """Rules version 2: what ends an escalation, and how notices are batched."""
    for name, trigger in d.escalation.triggers:
        if trigger.clear_status == ClearStatus.amber and name != "red_status":
            yield Problem(("escalation", "triggers", name, "clear_status"),
                          "only red_status can end at amber (the others end at green)")
    notices = d.notices
    if notices.max_delay.approx < notices.quiet_period.approx:
        yield Problem(("notices", "max_delay"),
                      f"max_delay {notices.max_delay} is shorter than the quiet period {notices.quiet_period}: "
                      "every notice would go out at max_delay")
