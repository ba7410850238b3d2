"""The operating partnership's cadence: weekly status, periodic reviews, the annual mutual-value review.

Each enabled cadence of the definition runs as one loop on durable timers (:meth:`Reviews.run`).
A review is planned in the state before its timer starts, so after continue-as-new the next
run waits for the same review; it opens at its time (moved to a business day when the
cadence says so), asks its participants for input by email, chases the ones missing until
the inputs are due, and closes with a record (``workflows.partnership.review_close``).

The reminders here are not the shared chase loop (``workflows.toolkit.chase``): review inputs
have reminders before their due time only, a reminder whose time has passed is skipped rather
than sent late, and at the due time the review goes ahead with what it has.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from datetime import datetime, timedelta
from typing import cast

from temporalio import workflow

from workflows.partnership.context import PartnershipContext
from workflows.partnership.meetings import Meetings
from workflows.partnership.record import Record
from workflows.partnership.review_close import ReviewClosing
from workflows.partnership.tasks import Tasks
from workflows.toolkit.notifier import Notifier

with workflow.unsafe.imports_passed_through():
    from accord.logic import limits, working_hours
    from accord.logic.describe import people, person, when
    from accord.models import (
        ActionLink,
        EventKind,
        Review,
        ReviewInput,
        ReviewInputSubmission,
        ReviewKind,
        ReviewOutcome,
        Task,
        TaskKind,
        TaskStatus,
        UpdateResult,
        action_task_id,
        review_id,
        review_input_task_id,
    )
    from definitions.durations import Duration
    from definitions.schema import Cadence, StatusCadence


class Reviews:
    def __init__(self, ctx: PartnershipContext, record: Record, tasks: Tasks, notifier: Notifier,
                 closing: ReviewClosing) -> None:
        self.ctx = ctx
        self.record = record
        self.tasks = tasks
        self.notifier = notifier
        self.closing = closing
        self.meetings = Meetings(ctx, record, notifier)
        # Reviews being opened or closed (several steps each): continue-as-new waits for 0.
        self.busy = 0

    def cadence(self, kind: ReviewKind) -> Cadence | None:
        return self.meetings.cadence(kind)

    def latest(self, kind: ReviewKind) -> Review | None:
        of_kind = [r for r in self.ctx.state.reviews.values() if r.kind == kind]
        return max(of_kind, key=lambda r: r.n, default=None)

    def participants(self, cadence: Cadence) -> list[str]:
        return list(cadence.participants) or [p.stakeholders[0].id for p in self.ctx.definition.parties]

    # ------------------------------------------------------------------ the loop

    async def run(self, kind: ReviewKind) -> None:
        """One cadence, for as long as the partnership operates (cancelled when it stops)."""
        while True:
            cadence = self.cadence(kind)
            if cadence is None:
                # Disabled (perhaps by an amendment): wait for the definition to change.
                definition = self.ctx.definition
                await workflow.wait_condition(lambda: self.ctx.definition is not definition)  # noqa: B023 (awaited here)
                continue
            review = self.latest(kind)
            if review is None or review.closed_at is not None:
                review = self._plan(kind, cadence, review)
            if review.opened_at is None:
                if not await self._until_opening(review, cadence):
                    continue  # its cadence was amended before it opened: planned again
                cadence = self.cadence(kind) or cadence  # the definition in force now
                await self._step(self._open(review, cadence))
            await self._collect(review, cadence)
            await self._step(self.closing.close(review))

    async def _until_opening(self, review: Review, cadence: Cadence) -> bool:
        """Wait until ``review`` opens. Under schedule 1, an amendment of its cadence before then
        drops the planned review (nothing was sent for it) and returns False: it is planned
        again under the new definition. Under schedule 0 the date stays (as it always did)."""
        wait = review.scheduled_for - workflow.now()
        if wait <= timedelta(0):
            return True
        summary = f"{review.kind.title} #{review.n}"
        if not self.ctx.schedule.local:
            await workflow.sleep(wait, summary=summary)
            return True
        try:
            await workflow.wait_condition(lambda: self.cadence(review.kind) != cadence, timeout=wait,
                                          timeout_summary=summary)
        except TimeoutError:
            return True
        del self.ctx.state.reviews[review.id]
        self.record.publish()
        return False

    async def _step(self, step: Awaitable[None]) -> None:
        self.busy += 1
        try:
            await step
        finally:
            self.busy -= 1

    def _plan(self, kind: ReviewKind, cadence: Cadence, previous: Review | None) -> Review:
        state = self.ctx.state
        anchor = state.launched_at
        assert anchor is not None
        # Occurrences are openings for `every`, meetings for a calendar rule.
        after = (previous.meeting_at or previous.scheduled_for) if previous else anchor
        # Never plan in the past: a cadence enabled late starts from now.
        after = max(after, workflow.now() - timedelta(seconds=1))
        n, at = self.ctx.schedule.next_review(cadence, anchor, after)
        if cadence.rule is None:
            opens, due, meeting = at, cadence.inputs_due.after(at), None
        else:
            # The meeting is the occurrence: inputs are asked for inputs_due before it, due at it.
            opens, due, meeting = cadence.inputs_due.before(at), at, at
        review = Review(
            id=review_id(kind, n),
            kind=kind,
            n=n,
            term=state.term,
            scheduled_for=opens,
            inputs_due_at=due,
            meeting_at=meeting,
            participants=self.participants(cadence),
        )
        state.reviews[review.id] = review
        self.record.publish()
        return review

    async def _open(self, review: Review, cadence: Cadence) -> None:
        review.opened_at = workflow.now()
        # Planned under the definition of its day; opened under today's (an amendment may have
        # changed who is asked and how long they have).
        review.inputs_due_at = review.meeting_at or cadence.inputs_due.after(review.scheduled_for)
        review.participants = self.participants(cadence)
        review.actions_checked = [t.id for t in self.ctx.state.open_tasks() if t.kind == TaskKind.action]
        for who in review.participants:
            self.tasks.open(
                review_input_task_id(review.id, who), TaskKind.review_input, f"{review.kind.title} #{review.n}: your input",
                who, review.inputs_due_at, self._ask(review, cadence),
            )
        self.record.log(EventKind.review_opened, detail=f"{review.kind.title} #{review.n}: inputs from "
                        f"{people(self.ctx.definition, review.participants)} by {when(review.inputs_due_at)}",
                        data={"review": review.id})
        self.record.publish()
        await asyncio.gather(*(self._request(review, who, "request") for who in review.participants))

    def _ask(self, review: Review, cadence: Cadence) -> str:
        if review.kind == ReviewKind.weekly_status:
            return f"Your party's status this week (green, amber or red), and: {cast(StatusCadence, cadence).prompt}"
        if review.kind == ReviewKind.annual_mutual_value:
            return ("Rate, from 1 to 10, what your party contributed to the partnership this year and what it "
                    "gained from it, with a note on both.")
        return "Your progress since the last review, what is blocking you, and what the review should decide."

    async def _request(self, review: Review, who: str, why: str, n: int = 0) -> None:
        state = self.ctx.state
        agenda = self.agenda(review, self._open_actions(review))
        context: dict[str, object] = {
            "heading": f"{review.kind.title}: your input" if why == "request" else f"Reminder: {review.kind.title}",
            "ask": state.tasks[review_input_task_id(review.id, who)].description,
            "due_at": review.inputs_due_at,
            "consequence": "Missing inputs are recorded at the review; repeated silence is escalated.",
            "action_label": "Send my input",
            "agenda": agenda,
        }
        if review.kind != ReviewKind.weekly_status:
            context["meeting_at"] = review.meets_at
        await self.notifier.email(
            f"review/{review.id}/{why}/{n}",
            who,
            "action_request",
            f"{review.kind.title} #{review.n} ({self.ctx.definition.name})",
            context,
            ActionLink(action="review", ref=review.id, expires_at=review.inputs_due_at + limits.REVIEW_LINK_GRACE),
            invitation=self.meetings.invitation(review, agenda) if why == "request" and self.meetings.invites(review) else None,
        )

    def agenda(self, review: Review, open_actions: list[Task]) -> list[str]:
        definition = self.ctx.definition
        items = [f"Inputs from {people(definition, review.participants)}"]
        if review.kind != ReviewKind.weekly_status and definition.metrics:
            items.append("Metrics against targets: " + ", ".join(m.name for m in definition.metrics))
        items += [f"Open action: {t.title} ({person(definition, t.owner)}, due {when(t.due_at)})" for t in open_actions]
        if review.kind == ReviewKind.annual_mutual_value:
            items.append("Mutual value: each party's contribution and benefit")
        items.append("Decisions and actions with owners")
        return items

    async def _collect(self, review: Review, cadence: Cadence) -> None:
        """Chase missing inputs until all are in or they are due (reminders before the due time only:
        at the due time the review goes ahead with what it has). Under schedule 1 its meeting
        follows amendments meanwhile (``workflows.partnership.meetings``)."""
        follower = None
        if self.meetings.follows(review):
            follower = asyncio.create_task(self.meetings.follow(
                review, lambda: self.agenda(review, self._open_actions(review)), self._step))
        try:
            await self._chase_inputs(review, cadence)
        finally:
            if follower is not None:
                follower.cancel()

    def _open_actions(self, review: Review) -> list[Task]:
        return [self.ctx.state.tasks[t] for t in review.actions_checked if t in self.ctx.state.tasks]

    def _reminders(self, review: Review, cadence: Cadence) -> dict[datetime, list[tuple[str, int]]]:
        """When each participant is reminded: (who, reminder number) by time. Under schedule 1,
        in each one's working hours (earlier, never past the due time); else all at once."""
        policy = self.ctx.definition.reminders_for(cadence.reminders)
        planned = sorted({b.before(review.inputs_due_at) for b in policy.before})
        opened = review.opened_at or review.scheduled_for
        by_time: dict[datetime, list[tuple[str, int]]] = {}
        for n, at in enumerate(planned, 1):
            for who in review.participants:
                hours = self.ctx.schedule.kept_hours(who)
                when = at
                if hours is not None and opened < at <= review.inputs_due_at:
                    when = working_hours.reminder_at(at, opened, review.inputs_due_at, hours)
                whom = by_time.setdefault(when, [])
                if all(w != who for w, _ in whom):  # two reminders moved onto one time are one
                    whom.append((who, n))
        return by_time

    async def _chase_inputs(self, review: Review, cadence: Cadence) -> None:
        def all_in() -> bool:
            return all(who in review.inputs for who in review.participants)

        for at, whom in sorted(self._reminders(review, cadence).items()):
            if at <= workflow.now():
                continue
            try:
                await workflow.wait_condition(all_in, timeout=at - workflow.now(),
                                              timeout_summary=f"remind: {review.kind.title} #{review.n}")
                return
            except TimeoutError:
                await asyncio.gather(*(self._request(review, who, "reminder", n)
                                       for who, n in whom if who not in review.inputs))
        # Until the inputs are due. Under schedule 1 an amendment can move the meeting, and so
        # that time, either way meanwhile (workflows.partnership.meetings): then wait for the new one.
        due = None
        while due != review.inputs_due_at:
            due = review.inputs_due_at
            wait = due - workflow.now()
            if wait <= timedelta(0):
                break
            try:
                await workflow.wait_condition(lambda: all_in() or review.inputs_due_at != due,  # noqa: B023 (awaited here)
                                              timeout=wait, timeout_summary=f"inputs due: {review.kind.title} #{review.n}")
            except TimeoutError:
                pass
            if all_in():
                break

    # ------------------------------------------------------------------ updates

    def submit_input(self, submission: ReviewInputSubmission) -> UpdateResult:
        """The ``submit_review_input`` update (validated): a later input replaces the earlier one."""
        state = self.ctx.state
        review = state.reviews[submission.review_id]
        revised = submission.stakeholder in review.inputs
        review.inputs[submission.stakeholder] = ReviewInput(
            stakeholder=submission.stakeholder, party=self.ctx.definition.party_of(submission.stakeholder).id,
            at=workflow.now(), channel=submission.channel, rag=submission.rag, note=submission.note.strip(),
            contribution=submission.contribution, benefit=submission.benefit, sent_by=submission.sent_by,
        )
        task = state.tasks.get(review_input_task_id(review.id, submission.stakeholder))
        if task is not None and task.is_open:
            task.status = TaskStatus.done
            task.completed_at = workflow.now()
            task.completed_by = submission.stakeholder
            task.channel = submission.channel
            task.completion_sent_by = submission.sent_by
        self.record.log(EventKind.review_input, actor=submission.stakeholder,
                        detail=f"{review.kind.title} #{review.n}: input {'revised' if revised else 'received'}"
                        + (f" ({submission.rag.value})" if submission.rag else ""),
                        data={"review": review.id, "channel": submission.channel.value}, sent_by=submission.sent_by)
        self.record.publish()
        return UpdateResult(message="Your input is recorded." + (" It replaces your earlier one." if revised else ""))

    def record_outcome(self, outcome: ReviewOutcome) -> UpdateResult:
        """The ``record_review_outcome`` update (validated): decisions, and actions as tasks."""
        review = self.ctx.state.reviews[outcome.review_id]
        review.decisions += [d.strip() for d in outcome.decisions if d.strip()]
        for action in outcome.actions:
            task_id = action_task_id(review.id, len(review.actions) + 1)
            self.tasks.open(task_id, TaskKind.action, action.title.strip(), action.owner,
                            self.ctx.schedule.due(action.owner, workflow.now(), Duration(seconds=action.due_in_days * 86400)),
                            f"Decided at {review.kind.title} #{review.n}; checked at the next one.")
            review.actions.append(task_id)
        self.record.log(EventKind.review_outcome, actor=outcome.actor,
                        detail=f"{review.kind.title} #{review.n}: {len(outcome.decisions)} decisions, "
                        f"{len(outcome.actions)} actions",
                        data={"review": review.id, "channel": outcome.channel.value}, sent_by=outcome.sent_by)
        self.record.publish()
        return UpdateResult(message=f"Recorded: {len(outcome.decisions)} decisions and {len(outcome.actions)} actions.")
