"""Closing a review: its record, and what it means for the partnership.

The record keeps who answered and who did not, the metrics against their targets, the
earlier actions still open, the RAG status (weekly) or the mutual-value balance (annual).
What that means (a red status, a run of ambers, a party going quiet, a missed target, an
imbalance, reviews skipped) comes from the pure functions in ``accord.logic`` and turns into
diagnostic tasks and escalations here. Ops get the record of every meeting.
"""

from __future__ import annotations

from temporalio import workflow

from workflows.partnership.context import PartnershipContext
from workflows.partnership.escalations import Escalations
from workflows.partnership.record import Record
from workflows.partnership.tasks import Tasks
from workflows.toolkit.notifier import Notifier

with workflow.unsafe.imports_passed_through():
    from accord.logic import decay, metrics, mutual_value, triggers
    from accord.logic.describe import party as party_name
    from accord.logic.describe import people
    from accord.models import (
        EventKind,
        Rag,
        RagPoint,
        Review,
        ReviewKind,
        TaskKind,
        TriggerKind,
        ValueBalanceRecord,
        diagnostic_task_id,
        review_input_task_id,
    )
    from definitions.durations import Duration

# A metric that missed its target gets a diagnosis task due this long after the review.
DIAGNOSIS_DUE = Duration(seconds=14 * 86400)


class ReviewClosing:
    def __init__(self, ctx: PartnershipContext, record: Record, tasks: Tasks, notifier: Notifier,
                 escalations: Escalations) -> None:
        self.ctx = ctx
        self.record = record
        self.tasks = tasks
        self.notifier = notifier
        self.escalations = escalations

    async def close(self, review: Review) -> None:
        state = self.ctx.state
        now = workflow.now()
        review.closed_at = now
        review.missed = [who for who in review.participants if who not in review.inputs]
        for who in review.participants:
            # The review's record keeps who answered and who did not; the input tasks would
            # only make the state (carried through continue-as-new) grow every week.
            state.tasks.pop(review_input_task_id(review.id, who), None)
        if review.kind == ReviewKind.weekly_status:
            await self._close_status(review)
        else:
            await self._close_metrics(review)
        if review.kind == ReviewKind.annual_mutual_value:
            await self._close_value(review)
        self.record.log(EventKind.review_closed, detail=self.summary(review), data={"review": review.id, "missed": review.missed})
        if not review.inputs:
            await self._skipped(review)
        self.record.publish()
        if review.kind == ReviewKind.weekly_status:
            return  # the weekly status is in the state and the report; ops get the meetings' records
        await self.notifier.email_ops(
            f"review-record/{review.id}",
            f"Record: {review.kind.title} #{review.n} ({self.ctx.definition.name})",
            {"heading": f"{review.kind.title} #{review.n} is closed", "body": self.summary(review),
             "consequence": f"Record decisions and actions: accord review outcome {workflow.info().workflow_id} {review.id} ..."},
        )

    def summary(self, review: Review) -> str:
        parts = [f"{len(review.inputs)} of {len(review.participants)} inputs"]
        if review.missed:
            parts.append(f"missing: {people(self.ctx.definition, review.missed)}")
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
            still = [t for t in review.actions_checked if self.ctx.state.tasks[t].is_open]
            parts.append(f"{len(still)} of {len(review.actions_checked)} earlier actions still open")
        return "; ".join(parts)

    async def _close_status(self, review: Review) -> None:
        state, definition = self.ctx.state, self.ctx.definition
        by_party: dict[str, Rag | None] = {}
        for party in definition.parties:
            given = [i.rag.value for i in review.inputs.values() if i.party == party.id and i.rag is not None]
            by_party[party.id] = Rag(decay.overall({str(k): v for k, v in enumerate(given)})) if given else None
            asked = [w for w in review.participants if definition.party_of(w).id == party.id]
            if asked:
                silent = not any(w in review.inputs for w in asked)
                state.missed_in_a_row[party.id] = triggers.missed_in_a_row(state.missed_in_a_row.get(party.id, 0), silent)
        known = {p: r.value for p, r in by_party.items() if r is not None}
        review.overall = Rag(decay.overall(known)) if known else None
        state.rag_history.append(RagPoint(at=workflow.now(), review_id=review.id, overall=review.overall, by_party=by_party))
        defined = definition.escalation.triggers
        history = [p.overall.value for p in state.rag_history if p.overall is not None]
        kind = decay.status_trigger(history, triggers.amber_run(defined)) if review.overall else None
        trigger = getattr(defined, kind) if kind else None
        if kind is not None and trigger is not None and trigger.enabled:
            why = ("Weekly status is RED" if kind == "red_status"
                   else f"Weekly status AMBER {triggers.amber_run(defined)} times in a row")
            await self.escalations.open(kind, "status", f"{why} ({review.id})", trigger.level)
        missed = defined.missed_updates
        for party_id, count in sorted(state.missed_in_a_row.items()):
            if triggers.escalates(missed, count):
                await self.escalations.open(TriggerKind.missed_updates, party_id,
                                            f"{party_name(definition, party_id)} missed {count} weekly status updates in a row",
                                            missed.level)

    async def _close_metrics(self, review: Review) -> None:
        state, definition = self.ctx.state, self.ctx.definition
        assert state.launched_at is not None
        trigger = definition.escalation.triggers.missed_target
        for metric in definition.metrics:
            result = metrics.line(metric, state.metrics.get(metric.id), workflow.now(), state.launched_at)
            review.metrics.append(result)
            if not result.missed:
                continue
            diagnosing = any(t.kind == TaskKind.diagnostic and t.id.startswith(diagnostic_task_id(metric.id, ""))
                             for t in state.open_tasks())
            if not diagnosing:
                self.tasks.open(
                    diagnostic_task_id(metric.id, review.id), TaskKind.diagnostic, f"Find out why {metric.name} missed its target",
                    metric.owner, self.ctx.schedule.due(metric.owner, workflow.now(), DIAGNOSIS_DUE),
                    f"{result.summary}. What got in the way, and what would change it? (This is a diagnosis, not blame.)",
                )
            if trigger.enabled:
                await self.escalations.open(TriggerKind.missed_target, metric.id,
                                            f"{metric.name} missed its target at {review.id}: {result.summary}",
                                            trigger.level)

    async def _close_value(self, review: Review) -> None:
        definition = self.ctx.definition
        cadence = definition.reviews.annual_mutual_value
        assert cadence is not None
        statements: dict[str, tuple[float, float]] = {}
        for party in definition.parties:
            given = [(i.contribution, i.benefit) for i in review.inputs.values()
                     if i.party == party.id and i.contribution is not None and i.benefit is not None]
            if given:
                statements[party.id] = (sum(contribution for contribution, _ in given) / len(given),
                                        sum(benefit for _, benefit in given) / len(given))
        if len(statements) < 2:
            return
        balance = mutual_value.assess(statements, cadence.imbalance_tolerance)
        review.balance = ValueBalanceRecord(ratios=dict(balance.ratios), gap=balance.gap, tolerance=cadence.imbalance_tolerance,
                                            imbalanced=balance.imbalanced, summary=balance.summary)
        trigger = definition.escalation.triggers.imbalance
        if balance.imbalanced and trigger.enabled:
            await self.escalations.open(TriggerKind.imbalance, "mutual-value",
                                        f"Mutual value out of balance at {review.id}: {balance.summary}", trigger.level)

    async def _skipped(self, review: Review) -> None:
        """Nobody sent anything: a review skipped is coordination decay; several in a row escalate."""
        self.record.log(EventKind.review_skipped, detail=f"{review.kind.title} #{review.n} had no inputs at all",
                        data={"review": review.id})
        in_a_row = triggers.skipped_in_a_row(
            r for r in self.ctx.state.reviews.values() if r.kind == review.kind and r.closed_at)
        trigger = self.ctx.definition.escalation.triggers.missed_updates
        if review.kind != ReviewKind.weekly_status and triggers.escalates(trigger, in_a_row):
            await self.escalations.open(TriggerKind.missed_updates, review.kind.value,
                                        f"{in_a_row} {review.kind.title}s in a row had no inputs", trigger.level)
