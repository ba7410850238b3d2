"""Review meetings in people's calendars: the invitation, and its updates when the meeting moves or is called off.

A review's meeting is when its inputs are due (:attr:`accord.models.Review.meets_at`). Its
invitation goes out with the request for inputs (``workflows.partnership.reviews``): one
event per review, with a UID stable for that review, in the rule's zone when the cadence
is a calendar rule (so calendars keep it at its local time across a clock change).

Holidays move a meeting before anyone is invited (the dates are planned with them). What
can move it afterwards is an amendment: under schedule version 1 (``workflows/versions.py``)
a review whose meeting is ahead follows the definition while its inputs are collected:

- the cadence's rule changed (another day, time or zone): the meeting moves to the new
  rule's first occurrence after now, the inputs are due then, and every participant gets
  the updated invitation (same UID, SEQUENCE one higher);
- the cadence was disabled, removed, or no longer has a rule: the meeting is off, and
  every participant gets ``METHOD:CANCEL`` (SEQUENCE one higher). Inputs already asked
  for are still taken until they were due.

Partnerships on schedule 0 never follow (their histories were written without it).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import timedelta

from temporalio import workflow

from workflows.partnership.context import PartnershipContext
from workflows.partnership.record import Record
from workflows.toolkit.notifier import Notifier

with workflow.unsafe.imports_passed_through():
    from accord.models import (
        EventKind,
        Invitation,
        Review,
        ReviewKind,
        review_input_task_id,
    )
    from definitions.schema import Cadence

# Review meetings of an `every` cadence last this long in the invitation (a rule says its own).
MEETING_LENGTH = timedelta(hours=1)


class Meetings:
    def __init__(self, ctx: PartnershipContext, record: Record, notifier: Notifier) -> None:
        self.ctx = ctx
        self.record = record
        self.notifier = notifier

    def cadence(self, kind: ReviewKind) -> Cadence | None:
        """The cadence of ``kind`` in the definition in force, if enabled."""
        cadence = getattr(self.ctx.definition.reviews, kind.value)
        return cadence if cadence is not None and cadence.enabled else None

    def invites(self, review: Review) -> bool:
        """Whether the review's request carries an invitation: every review with a meeting, that is
        all but the weekly status, unless it is kept by a calendar rule (a stand-up is a meeting)."""
        cadence = self.cadence(review.kind)
        return review.kind != ReviewKind.weekly_status or review.meeting_at is not None or (
            cadence is not None and cadence.rule is not None)

    def invitation(self, review: Review, agenda: list[str], cancelled: bool = False) -> Invitation:
        cadence = self.cadence(review.kind)
        rule = cadence.rule if cadence is not None else None
        return Invitation(
            uid=f"{workflow.info().workflow_id}/{self.ctx.state.chain_id}/{review.id}",
            title=f"{review.kind.title} #{review.n}: {self.ctx.definition.name}",
            start=review.meets_at,
            minutes=rule.minutes if rule else int(MEETING_LENGTH.total_seconds() // 60),
            organizer=self.ctx.definition.ops[0].email,
            attendees=[self.notifier.recipient(w) for w in review.participants],
            agenda=agenda,
            # A rule's meeting is kept in its zone: calendars show it at that local time, also
            # across a daylight-saving change. `every` meetings stay in UTC (their time is one).
            timezone=rule.zone if rule else None,
            sequence=review.sequence,
            cancelled=cancelled,
        )

    def follows(self, review: Review) -> bool:
        return self.ctx.schedule.local and review.meeting_at is not None

    async def follow(self, review: Review, agenda: Callable[[], list[str]],
                     step: Callable[[Awaitable[None]], Awaitable[None]]) -> None:
        """Move or call off ``review``'s meeting as amendments change its cadence (see the module);
        runs while its inputs are collected, cancelled when it closes."""
        while not review.meeting_cancelled:
            definition = self.ctx.definition
            await workflow.wait_condition(lambda: self.ctx.definition is not definition)  # noqa: B023 (awaited here)
            cadence = self.cadence(review.kind)
            launched_at = self.ctx.state.launched_at
            assert launched_at is not None
            if cadence is None or cadence.rule is None:
                review.meeting_cancelled = True
                what = "is called off"
            else:
                _, meeting = self.ctx.schedule.next_review(cadence, launched_at, workflow.now())
                if meeting == review.meeting_at:
                    continue
                review.meeting_at = review.inputs_due_at = meeting
                for who in review.participants:
                    task = self.ctx.state.tasks.get(review_input_task_id(review.id, who))
                    if task is not None and task.is_open:
                        task.due_at = meeting
                what = f"moves to {meeting:%Y-%m-%d %H:%M} UTC"
            review.sequence += 1
            self.record.log(EventKind.review_rescheduled, detail=f"{review.kind.title} #{review.n}: the meeting {what}"
                            " (an amendment)", data={"review": review.id, "sequence": review.sequence})
            self.record.publish()
            await step(self._announce(review, agenda()))

    async def _announce(self, review: Review, agenda: list[str]) -> None:
        cancelled = review.meeting_cancelled
        heading = f"{review.kind.title} #{review.n}: {'meeting cancelled' if cancelled else 'meeting moved'}"
        body = ("The meeting is off: the cadence was changed by an amendment. Inputs already asked for are still "
                "welcome until they were due." if cancelled else
                "The meeting has moved (the cadence was changed by an amendment); your calendar invitation is updated.")
        await asyncio.gather(*(
            self.notifier.email(
                f"review/{review.id}/meeting/{review.sequence}", who, "notice",
                f"{heading} ({self.ctx.definition.name})",
                {"heading": heading, "body": body, "meeting_at": None if cancelled else review.meets_at},
                invitation=self.invitation(review, agenda, cancelled=cancelled),
            )
            for who in review.participants
        ))
