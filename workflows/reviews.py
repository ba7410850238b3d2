"""The operating partnership's cadence: weekly status, periodic reviews, the annual mutual-value review.

Each enabled cadence of the definition runs as one loop on durable timers (``run``).
A review is planned in the state before its timer starts, so after continue-as-new
the next run waits for the same review; it opens at its time (moved to a business day
when the cadence says so), asks its participants for input by email, chases the ones
missing until the inputs are due, and closes with a record: inputs, metrics against
their targets, open actions checked, RAG status or the mutual-value balance.

What a closed review means for the partnership (a missed target, a red status, an
imbalance, a party going quiet) comes from the pure functions in ``accord.logic`` and
turns into tasks and escalations through the partnership workflow, which owns this
object: the loops here only orchestrate.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import TYPE_CHECKING

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from accord.logic import decay, metrics, mutual_value, schedule
    from accord.models import (
        ActionLink,
        MetricLine,
        Rag,
        RagPoint,
        Review,
        ReviewKind,
        Task,
        TaskKind,
        ValueBalanceRecord,
    )
    from definitions.schema import Cadence

if TYPE_CHECKING:
    from workflows.partnership import PartnershipWorkflow

# Review meetings (everything but the weekly status) last this long in the invitation.
MEETING_LENGTH = timedelta(hours=1)


def input_task_id(review: Review, stakeholder: str) -> str:
    return f"{review.id}-{stakeholder}"


class ReviewCadence:
    def __init__(self, wf: PartnershipWorkflow) -> None:
        self.wf = wf
        # Reviews being opened or closed (several steps each): continue-as-new waits for 0.
        self.busy = 0

    @property
    def state(self):
        return self.wf.state

    def cadence(self, kind: ReviewKind) -> Cadence | None:
        cadence = getattr(self.wf.definition.reviews, kind.value)
        return cadence if cadence is not None and cadence.enabled else None

    def enabled_kinds(self) -> list[ReviewKind]:
        return [k for k in ReviewKind if self.cadence(k) is not None]

    def latest(self, kind: ReviewKind) -> Review | None:
        of_kind = [r for r in self.state.reviews.values() if r.kind == kind]
        return max(of_kind, key=lambda r: r.n, default=None)

    def participants(self, cadence: Cadence) -> list[str]:
        return list(cadence.participants) or [p.stakeholders[0].id for p in self.wf.definition.parties]

    def calendar(self, cadence: Cadence) -> schedule.BusinessCalendar | None:
        if not cadence.business_days_only:
            return None
        # The holidays library sets up its names through gettext, which the sandbox forbids;
        # its data is pinned (pyproject), so building the calendar here stays deterministic.
        with workflow.unsafe.sandbox_unrestricted(), workflow.unsafe.imports_passed_through():
            return schedule.calendar_for(self.wf.definition.parties)

    # ------------------------------------------------------------------ the loop

    async def run(self, kind: ReviewKind) -> None:
        """One cadence, for as long as the partnership operates (cancelled when it stops)."""
        while True:
            cadence = self.cadence(kind)
            if cadence is None:
                # Disabled (perhaps by an amendment): wait for the definition to change.
                definition = self.wf.definition
                await workflow.wait_condition(lambda: self.wf.definition is not definition)
                continue
            review = self.latest(kind)
            if review is None or review.closed_at is not None:
                review = self._plan(kind, cadence, review)
            if review.opened_at is None:
                wait = review.scheduled_for - workflow.now()
                if wait > timedelta(0):
                    await workflow.sleep(wait, summary=f"{kind.title} #{review.n}")
                cadence = self.cadence(kind) or cadence  # the definition in force now
                await self._step(self._open(review, cadence))
            await self._collect(review, cadence)
            await self._step(self._close(review))

    async def _step(self, step) -> None:
        self.busy += 1
        try:
            await step
        finally:
            self.busy -= 1

    def _plan(self, kind: ReviewKind, cadence: Cadence, previous: Review | None) -> Review:
        anchor = self.state.launched_at
        assert anchor is not None
        after = previous.scheduled_for if previous else anchor
        # Never plan in the past: a cadence enabled late starts from now.
        after = max(after, workflow.now() - timedelta(seconds=1))
        n, at = schedule.next_occurrence(anchor, cadence.every, after, self.calendar(cadence))
        review = Review(
            id=f"{kind.value}-{n}",
            kind=kind,
            n=n,
            term=self.state.term,
            scheduled_for=at,
            inputs_due_at=cadence.inputs_due.after(at),
            participants=self.participants(cadence),
        )
        self.state.reviews[review.id] = review
        self.wf._publish()
        return review

    async def _open(self, review: Review, cadence: Cadence) -> None:
        wf = self.wf
        review.opened_at = workflow.now()
        # Planned under the definition of its day; opened under today's (an amendment may have
        # changed who is asked and how long they have).
        review.inputs_due_at = cadence.inputs_due.after(review.scheduled_for)
        review.participants = self.participants(cadence)
        review.actions_checked = [t.id for t in self.state.open_tasks() if t.kind == TaskKind.action]
        for who in review.participants:
            wf._open_task(
                input_task_id(review, who), TaskKind.review_input, f"{review.kind.title} #{review.n}: your input",
                who, review.inputs_due_at, self._ask(review, cadence),
            )
        wf._log("review_opened", detail=f"{review.kind.title} #{review.n}: inputs from "
                f"{', '.join(review.participants)} by {review.inputs_due_at:%Y-%m-%d %H:%M} UTC",
                data={"review": review.id})
        wf._publish()
        await asyncio.gather(*(self._request(review, who, "request") for who in review.participants))

    def _ask(self, review: Review, cadence: Cadence) -> str:
        if review.kind == ReviewKind.weekly_status:
            return f"Your party's status this week (green, amber or red), and: {cadence.prompt}"  # type: ignore[attr-defined]
        if review.kind == ReviewKind.annual_mutual_value:
            return ("Rate, from 1 to 10, what your party contributed to the partnership this year and what it "
                    "gained from it, with a note on both.")
        return "Your progress since the last review, what is blocking you, and what the review should decide."

    async def _request(self, review: Review, who: str, why: str, n: int = 0) -> None:
        open_actions = [self.state.tasks[t] for t in review.actions_checked if t in self.state.tasks]
        context = {
            "heading": f"{review.kind.title}: your input" if why == "request" else f"Reminder: {review.kind.title}",
            "ask": self.state.tasks[input_task_id(review, who)].description,
            "due_at": review.inputs_due_at,
            "consequence": "Missing inputs are recorded at the review; repeated silence is escalated.",
            "action_label": "Send my input",
            "agenda": self.agenda(review, open_actions),
        }
        if review.kind != ReviewKind.weekly_status:
            context["meeting_at"] = review.inputs_due_at
        await self.wf._email(
            f"review/{review.id}/{why}/{n}",
            who,
            "action_request",
            f"{review.kind.title} #{review.n} ({self.wf.definition.name})",
            context,
            ActionLink(action="review", ref=review.id, expires_at=review.inputs_due_at + timedelta(days=7)),
            invitation=self._invitation(review) if why == "request" and review.kind != ReviewKind.weekly_status else None,
        )

    def agenda(self, review: Review, open_actions: list[Task]) -> list[str]:
        items = [f"Inputs from {', '.join(review.participants)}"]
        if review.kind != ReviewKind.weekly_status and self.wf.definition.metrics:
            items.append("Metrics against targets: " + ", ".join(m.name for m in self.wf.definition.metrics))
        items += [f"Open action: {t.title} ({t.owner}, due {t.due_at:%Y-%m-%d})" for t in open_actions]
        if review.kind == ReviewKind.annual_mutual_value:
            items.append("Mutual value: each party's contribution and benefit")
        items.append("Decisions and actions with owners")
        return items

    def _invitation(self, review: Review) -> dict:
        return {
            "uid": f"{workflow.info().workflow_id}/{self.state.chain_id}/{review.id}",
            "title": f"{review.kind.title} #{review.n}: {self.wf.definition.name}",
            "start": review.inputs_due_at,
            "minutes": int(MEETING_LENGTH.total_seconds() // 60),
            "attendees": review.participants,
        }

    async def _collect(self, review: Review, cadence: Cadence) -> None:
        """Chase missing inputs until all are in or they are due (reminders before the due time only:
        at the due time the review goes ahead with what it has)."""
        policy = self.wf.definition.reminders_for(cadence.reminders)
        reminders = sorted({b.before(review.inputs_due_at) for b in policy.before})

        def all_in() -> bool:
            return all(who in review.inputs for who in review.participants)

        for n, at in enumerate(reminders, 1):
            if at <= workflow.now():
                continue
            try:
                await workflow.wait_condition(all_in, timeout=at - workflow.now(),
                                              timeout_summary=f"remind: {review.kind.title} #{review.n}")
                return
            except asyncio.TimeoutError:
                await asyncio.gather(*(self._request(review, who, "reminder", n)
                                       for who in review.participants if who not in review.inputs))
        wait = review.inputs_due_at - workflow.now()
        if wait > timedelta(0):
            try:
                await workflow.wait_condition(all_in, timeout=wait, timeout_summary=f"inputs due: {review.kind.title} #{review.n}")
            except asyncio.TimeoutError:
                pass

    # ------------------------------------------------------------------ closing

    async def _close(self, review: Review) -> None:
        wf = self.wf
        now = workflow.now()
        review.closed_at = now
        review.missed = [who for who in review.participants if who not in review.inputs]
        for who in review.participants:
            # The review's record keeps who answered and who did not; the input tasks would
            # only make the state (carried through continue-as-new) grow every week.
            self.state.tasks.pop(input_task_id(review, who), None)
        if review.kind == ReviewKind.weekly_status:
            await self._close_status(review)
        else:
            await self._close_metrics(review)
        if review.kind == ReviewKind.annual_mutual_value:
            await self._close_value(review)
        wf._log("review_closed", detail=self.summary(review), data={"review": review.id, "missed": review.missed})
        if not review.inputs:
            await self._skipped(review)
        wf._publish()
        if review.kind == ReviewKind.weekly_status:
            return  # the weekly status is in the state and the report; ops get the meetings' records
        await wf._email_ops(
            f"review-record/{review.id}",
            f"Record: {review.kind.title} #{review.n} ({wf.definition.name})",
            {"heading": f"{review.kind.title} #{review.n} is closed", "body": self.summary(review),
             "consequence": f"Record decisions and actions: accord review outcome {workflow.info().workflow_id} {review.id} ..."},
        )

    def summary(self, review: Review) -> str:
        parts = [f"{len(review.inputs)} of {len(review.participants)} inputs"]
        if review.missed:
            parts.append(f"missing: {', '.join(review.missed)}")
        if review.overall:
            parts.append(f"status {review.overall.value}")
        missed = [m.name for m in review.metrics if m.missed]
        if review.metrics:
            parts.append(f"{sum(m.on_target for m in review.metrics)} of {len(review.metrics)} metrics on target")
        if missed:
            parts.append(f"target missed: {', '.join(missed)}")
        if review.balance:
            parts.append(review.balance.summary)
        if review.actions_checked:
            still = [t for t in review.actions_checked if self.state.tasks[t].is_open]
            parts.append(f"{len(still)} of {len(review.actions_checked)} earlier actions still open")
        return "; ".join(parts)

    async def _close_status(self, review: Review) -> None:
        wf = self.wf
        definition = wf.definition
        by_party: dict[str, Rag | None] = {}
        for party in definition.parties:
            given = [i.rag.value for i in review.inputs.values() if i.party == party.id and i.rag is not None]
            by_party[party.id] = Rag(decay.overall({str(k): v for k, v in enumerate(given)})) if given else None
            asked = [w for w in review.participants if definition.party_of(w).id == party.id]
            if asked:
                silent = not any(w in review.inputs for w in asked)
                self.state.missed_in_a_row[party.id] = self.state.missed_in_a_row.get(party.id, 0) + 1 if silent else 0
        known = {p: r.value for p, r in by_party.items() if r is not None}
        review.overall = Rag(decay.overall(known)) if known else None
        self.state.rag_history.append(RagPoint(at=workflow.now(), review_id=review.id, overall=review.overall, by_party=by_party))
        triggers = definition.escalation.triggers
        history = [p.overall.value for p in self.state.rag_history if p.overall is not None]
        kind = decay.status_trigger(history, triggers.repeated_amber.count or 2) if review.overall else None
        trigger = getattr(triggers, kind) if kind else None
        if trigger is not None and trigger.enabled:
            why = ("Weekly status is RED" if kind == "red_status"
                   else f"Weekly status AMBER {triggers.repeated_amber.count or 2} times in a row")
            await wf._raise(kind, "status", f"{why} ({review.id})", trigger.level)
        missed = triggers.missed_updates
        for party, count in sorted(self.state.missed_in_a_row.items()):
            if missed.enabled and count >= (missed.count or 3):
                await wf._raise("missed_updates", party, f"{party} missed {count} weekly status updates in a row", missed.level)

    async def _close_metrics(self, review: Review) -> None:
        wf = self.wf
        assert self.state.launched_at is not None
        trigger = wf.definition.escalation.triggers.missed_target
        for metric in wf.definition.metrics:
            track = self.state.metrics.get(metric.id)
            observations = [(o.at, o.value) for o in track.observations] if track else []
            baseline = track.baseline if track else metric.baseline
            result = metrics.assess(metric, baseline, observations, workflow.now(), self.state.launched_at)
            review.metrics.append(MetricLine(
                metric_id=metric.id, name=metric.name, unit=metric.unit, baseline=baseline, target=metric.target,
                latest=observations[-1][1] if observations else None, on_target=result.on_target,
                missed=result.missed, summary=result.summary,
            ))
            if not result.missed:
                continue
            diagnosing = any(t.kind == TaskKind.diagnostic and t.id.startswith(f"diagnostic-{metric.id}-")
                             for t in self.state.open_tasks())
            if not diagnosing:
                wf._open_task(
                    f"diagnostic-{metric.id}-{review.id}", TaskKind.diagnostic, f"Find out why {metric.name} missed its target",
                    metric.owner, workflow.now() + timedelta(days=14),
                    f"{result.summary}. What got in the way, and what would change it? (This is a diagnosis, not blame.)",
                )
            if trigger.enabled:
                await wf._raise("missed_target", metric.id, f"{metric.name} missed its target at {review.id}: {result.summary}",
                                trigger.level)

    async def _close_value(self, review: Review) -> None:
        wf = self.wf
        cadence = wf.definition.reviews.annual_mutual_value
        assert cadence is not None
        statements: dict[str, tuple[float, float]] = {}
        for party in wf.definition.parties:
            given = [i for i in review.inputs.values()
                     if i.party == party.id and i.contribution is not None and i.benefit is not None]
            if given:
                statements[party.id] = (sum(i.contribution for i in given) / len(given),  # type: ignore[misc]
                                        sum(i.benefit for i in given) / len(given))  # type: ignore[misc]
        if len(statements) < 2:
            return
        balance = mutual_value.assess(statements, cadence.imbalance_tolerance)
        review.balance = ValueBalanceRecord(ratios=dict(balance.ratios), gap=balance.gap, tolerance=cadence.imbalance_tolerance,
                                            imbalanced=balance.imbalanced, summary=balance.summary)
        trigger = wf.definition.escalation.triggers.imbalance
        if balance.imbalanced and trigger.enabled:
            await wf._raise("imbalance", "mutual-value", f"Mutual value out of balance at {review.id}: {balance.summary}",
                            trigger.level)

    async def _skipped(self, review: Review) -> None:
        """Nobody sent anything: a review skipped is coordination decay; several in a row escalate."""
        wf = self.wf
        wf._log("review_skipped", detail=f"{review.kind.title} #{review.n} had no inputs at all", data={"review": review.id})
        in_a_row = 0
        for r in sorted((r for r in self.state.reviews.values() if r.kind == review.kind and r.closed_at), key=lambda r: r.n, reverse=True):
            if r.inputs:
                break
            in_a_row += 1
        trigger = wf.definition.escalation.triggers.missed_updates
        if review.kind != ReviewKind.weekly_status and trigger.enabled and in_a_row >= (trigger.count or 3):
            await wf._raise("missed_updates", review.kind.value, f"{in_a_row} {review.kind.title}s in a row had no inputs",
                            trigger.level)
