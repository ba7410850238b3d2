"""The active years: every review cadence, the renewal and all open tasks, until the
partnership closes or its history should continue as new.

A run continues as new once its history passes ``history_limit`` events (or Temporal
suggests it): it waits until no review is half opened or closed, no email or child start
is in flight (so none is cut off and sent again) and no handler runs (so no update loses
its answer), then hands its state to the next run, which picks up every loop where the
state says it is.
"""

from __future__ import annotations

import asyncio

from temporalio import workflow

from workflows.partnership.context import PartnershipContext
from workflows.partnership.record import Record
from workflows.partnership.renewal import Renewal
from workflows.partnership.reviews import Reviews
from workflows.partnership.tasks import Tasks

with workflow.unsafe.imports_passed_through():
    from accord.logic.describe import when
    from accord.models import EventKind, PartnershipInput, ReviewKind, Stage


class Operating:
    def __init__(self, ctx: PartnershipContext, record: Record, tasks: Tasks, reviews: Reviews, renewal: Renewal) -> None:
        self.ctx = ctx
        self.record = record
        self.tasks = tasks
        self.reviews = reviews
        self.renewal = renewal

    async def run(self) -> None:
        """The active years, until the partnership leaves them or its history should continue as new."""
        self.ctx.stage_available = True
        loops = [asyncio.create_task(self.reviews.run(kind)) for kind in ReviewKind]
        if self.ctx.definition.renewal is not None:
            loops.append(asyncio.create_task(self.renewal.run()))
        self.record.set_detail(self._detail())
        while self.ctx.state.stage in (Stage.active, Stage.renewal) and not self.ctx.history_is_long():
            self.tasks.chase_open()
            await workflow.wait_condition(
                lambda: self.ctx.state.stage not in (Stage.active, Stage.renewal) or self.ctx.history_is_long()
                or bool(self.tasks.unchased())
            )
        if not self.ctx.history_is_long():
            for loop in loops:
                loop.cancel()
        # Continuing as new, the loops are left as they are: their timers simply end with this
        # run (cancelling them would add commands to the run's last workflow task for nothing).

    def _detail(self) -> str:
        upcoming = sorted((r for r in self.ctx.state.reviews.values() if r.opened_at is None), key=lambda r: r.scheduled_for)
        if not upcoming:
            return "Active"
        nxt = upcoming[0]
        return f"Active; next: {nxt.kind.title} #{nxt.n} on {when(nxt.scheduled_for)}"

    async def continue_as_new(self) -> None:
        """Hand over to a new run carrying the state. Wait until no review is half opened or
        closed, no email or child start is in flight (so none is cut off and sent again) and
        no handler runs (so no update loses its answer)."""
        def quiet() -> bool:
            return self.reviews.busy == 0 and self.ctx.quiet() and workflow.all_handlers_finished()

        while not quiet():
            await workflow.wait_condition(quiet)
        state = self.ctx.state
        self.record.log(EventKind.continued_as_new, detail=f"Run {state.runs} hands over at "
                        f"{workflow.info().get_current_history_length()} history events")
        state.runs += 1
        workflow.continue_as_new(PartnershipInput(definition=self.ctx.definition, state=state,
                                                  history_limit=self.ctx.history_limit))
