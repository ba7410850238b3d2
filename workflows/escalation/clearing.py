"""When the escalation's cause is gone (rules 2): close it, or ask its current level to confirm.

The partnership watches the cause (``accord.logic.clearing``) and says when it is gone, or back,
by the ``cause_cleared`` signal (:meth:`Clearings.news`). What follows is the trigger's ``clear``
setting in the definition:

- ``auto`` (the default): an escalation nobody acknowledged closes at once, as ``cleared``, with
  its cause; one somebody acknowledged (owned, perhaps half-way through CARE) is not closed
  under their feet: its current level is asked to confirm;
- ``confirm``: the current level is always asked;
- ``manual``: only recorded; it stays open until someone resolves or withdraws it.

Asked, the level's contacts (ops, past the ladder) confirm it closed or keep it open (the
``confirm_clearing`` update, from the escalation page their email links to); if nobody answers
within the level's ``respond_within``, it closes by itself (:meth:`Clearings.expire`). While
asked, it does not climb: its cause is gone. A cause that comes back before then withdraws the
question, and the escalation carries on where it was. Once closed as cleared, everyone it paged
is told (``EscalationNotifier.tell_cleared``). An escalation resolving subject to an amendment
is left to its resolution.
"""

from __future__ import annotations

from datetime import datetime

from temporalio import workflow

from workflows.escalation.care import Care
from workflows.escalation.context import EscalationContext
from workflows.escalation.reporting import Reporting

with workflow.unsafe.imports_passed_through():
    from accord.logic.describe import acted
    from accord.models import (
        CauseCleared,
        Clearing,
        ConfirmClearing,
        EscalationStatus,
        UpdateResult,
    )
    from definitions.durations import Duration
    from definitions.schema import Clear


class Clearings:
    def __init__(self, ctx: EscalationContext, reporting: Reporting, care: Care) -> None:
        self.ctx = ctx
        self.reporting = reporting
        self.care = care
        # Changes this run made to the clearing: the run loop wakes up for each.
        self.version = 0

    def policy(self) -> Clear:
        trigger = getattr(self.ctx.definition.escalation.triggers, self.ctx.state.trigger.value, None)
        return trigger.clear if trigger is not None else Clear.manual

    def news(self, news: CauseCleared | None) -> None:
        """The ``cause_cleared`` signal (a signal cannot be refused: what does not apply is logged)."""
        state = self.ctx.state
        if not isinstance(news, CauseCleared) or state.rules_version < 2 or state.status.is_final:
            workflow.logger.warning("cause_cleared for %s ignored: %r (%s, rules %d)", state.id, news,
                                    state.status.value, state.rules_version)
            return
        self.version += 1
        if not news.gone:
            if state.clearing is not None and state.clearing.back_at is None:
                state.clearing.back_at = workflow.now()
            self.reporting.publish()
            return
        state.clearing = Clearing(cause=news.cause, at=workflow.now())
        policy = self.policy()
        if policy == Clear.manual or state.status == EscalationStatus.awaiting_amendment:
            self.reporting.publish()
            return
        if state.status == EscalationStatus.open and policy == Clear.auto:
            self.care.close(EscalationStatus.cleared, "accord", None, cause=f"its cause is gone: {news.cause}")
            return
        state.clearing.asked = self.ctx.current_contacts()
        # They have the level's time to answer from when the first of them is asked (schedule 1:
        # in their working hours, paging.py; else at once).
        asked_at = self.ctx.pager.plan(workflow.now(), state.clearing.asked, self._window()).starts
        state.clearing.until = self._window().after(asked_at)
        self.reporting.publish()

    def _window(self) -> Duration:
        return self.ctx.respond_within()

    def pending_until(self) -> datetime | None:
        """When an unanswered confirmation closes it (None: none is asked)."""
        clearing = self.ctx.state.clearing
        return clearing.until if clearing is not None and clearing.pending else None

    def confirm(self, answer: ConfirmClearing) -> UpdateResult:
        """The ``confirm_clearing`` update (validated)."""
        state = self.ctx.state
        clearing = state.clearing
        assert clearing is not None
        self.version += 1
        who = acted(self.ctx.definition, answer.actor, answer.sent_by)
        if answer.keep_open:
            clearing.kept_open_by, clearing.kept_open_note = answer.actor, answer.note.strip()
            self.reporting.publish()
            return UpdateResult(message="It stays open. Go on with the CARE steps and resolve it, or withdraw it.")
        self.care.close(EscalationStatus.cleared, answer.actor, answer.channel, sent_by=answer.sent_by,
                        cause=f"confirmed by {who}: its cause is gone: {clearing.cause}")
        return UpdateResult(message="The escalation is closed: its cause is gone. Everyone it reached is told.")

    def expire(self) -> None:
        """Nobody answered the question in time: it closes by itself."""
        clearing = self.ctx.state.clearing
        assert clearing is not None
        self.version += 1
        self.care.close(EscalationStatus.cleared, "accord", None,
                        cause=f"nobody kept it open within {self._window()}: its cause is gone: {clearing.cause}")
