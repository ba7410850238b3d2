"""The escalation's email: each level's contacts once, ops past the last level, and delivery
problems (unreachable contacts, emails delayed by the provider) told to ops.

Every subject says which escalation, what it is about and which partnership (an inbox of them
must be told apart), and every email that asks something links to the escalation's page, ops'
included. Rules 2: while a quiet period holds its paging (the same cause cleared shortly
before), nobody is told; when its cause is gone, its current level is asked to confirm it may
close (:meth:`EscalationNotifier.ask_confirmation`), and once it closed as cleared everyone it
paged is told (:meth:`EscalationNotifier.tell_cleared`).
"""

from __future__ import annotations

import asyncio
from datetime import datetime
from typing import Any

from temporalio import workflow

from workflows.escalation.context import EscalationContext
from workflows.toolkit.notifier import Notifier

with workflow.unsafe.imports_passed_through():
    from accord.logic import ladder, limits
    from accord.logic.describe import when
    from accord.models import (
        ActionLink,
        EmailDelay,
        EmailEvent,
        EscalationStatus,
        LevelChange,
    )


class EscalationNotifier(Notifier):
    def __init__(self, ctx: EscalationContext) -> None:
        super().__init__(ctx.state, lambda: ctx.definition)
        self.ctx = ctx
        # Patch confirm-close-asks-each-time, taken by the workflow at the start of its run.
        self.key_each_question = False

    def what(self) -> str:
        """``"esc-2: Legal review is overdue"`` (escalations raised before v0.7: trigger and subject)."""
        s = self.ctx.state
        return f"{s.id}: {s.what or f'{s.trigger} about {s.subject}'}"

    def subject(self, lead: str, before: str = "") -> str:
        """``"<lead> esc-2: Legal review is overdue (County permits)"``: what, and which partnership
        (rules 2; an escalation under older rules keeps the subjects it had, ``before``)."""
        if self.ctx.state.rules_version < 2 and before:
            return f"{before}: {self.ctx.definition.name}"
        return f"{lead} {self.what()} ({self.ctx.definition.name})"

    def link(self, until: datetime | None) -> ActionLink:
        """The escalation page's link: this workflow, the escalation, the ladder step."""
        return ActionLink(action="escalation", ref=self.ctx.state.id, round=len(self.ctx.state.levels),
                          expires_at=limits.link_expiry(until or workflow.now()))

    async def notify_owed(self) -> None:
        """Email the contacts of the latest level change, once (tracked in the state, so a
        continue-as-new or a replay never emails them twice); schedule 1: each once their
        time has come (``paging.py``), the level noted as notified once all are."""
        state = self.ctx.state
        change = state.levels[-1]
        if change.notified_at is not None or state.status.is_final or self.ctx.paging_held():
            return
        if change.level is None:
            await self._email_past_ladder()
            change.notified_at = workflow.now()
            return
        if not self.ctx.pager.local:
            await asyncio.gather(*(self._email_level(change, who) for who in change.contacts))
            change.notified_at = workflow.now()
            return
        owed = self._owed(self._level_plan(change), change.told)
        change.told += owed
        if set(change.told) >= set(change.contacts):
            change.notified_at = workflow.now()
        await asyncio.gather(*(self._email_level(change, who) for who in owed))

    def _level_plan(self, change: LevelChange) -> dict[str, datetime]:
        # change.at is when its first contact is told: the plan computed from it is the plan.
        assert change.level is not None
        return self.ctx.pager.plan(change.at, change.contacts, self.ctx.ladder[change.level - 1].respond_within).at

    def _question_plan(self) -> dict[str, datetime]:
        clearing = self.ctx.state.clearing
        assert clearing is not None
        return self.ctx.pager.plan(clearing.at, clearing.asked, self.ctx.respond_within()).at

    @staticmethod
    def _owed(plan: dict[str, datetime], told: list[str]) -> list[str]:
        now = workflow.now()
        return [who for who, at in plan.items() if who not in told and at <= now]

    def next_owed(self) -> datetime | None:
        """Schedule 1: when the next contact waiting for their working hours is due to be told
        (of the level, or asked whether it may close); None when nobody waits."""
        state = self.ctx.state
        if not self.ctx.pager.local or state.status.is_final:
            return None
        waiting: list[datetime] = []
        change = state.levels[-1]
        if change.level is not None and change.notified_at is None:
            waiting += [at for who, at in self._level_plan(change).items() if who not in change.told]
        clearing = state.clearing
        if clearing is not None and clearing.pending and clearing.asked_at is None:
            waiting += [at for who, at in self._question_plan().items() if who not in clearing.told]
        return min(waiting, default=None)

    def _due_at(self, change: LevelChange) -> datetime | None:
        climb = ladder.next_climb(self.ctx.ladder, change.level, change.at, acknowledged=False)
        return climb.at if climb else None

    async def _email_level(self, change: LevelChange, who: str) -> None:
        assert change.level is not None
        s = self.ctx.state
        step = len(s.levels)
        due_at = self._due_at(change)
        last_level = change.level == len(self.ctx.ladder)
        body = f"{s.reason} (trigger: {s.trigger}; about: {s.subject}; severity: {s.severity}; escalation {s.id})."
        if step > 1:
            body += f" It reached you after {change.cause} at the previous level."
        if s.status == EscalationStatus.acknowledged:
            body += " It has been acknowledged; please help record the CARE steps and resolve it."
        await self.email(
            f"level-{step}",
            who,
            "notice",
            self.subject(f"Escalated to {change.name}:" if step == 1 else f"Escalation reached {change.name}:",
                         f"Escalation ({change.name})"),
            {
                "heading": f"Escalated to you: {change.name}",
                "body": body,
                "due_at": due_at,
                # The template says "If nobody acts: ..."
                "consequence": "ops are told and it stays open." if last_level
                else f"it climbs to the next level, {self.ctx.ladder[change.level].name}.",
                "action_label": "Open the escalation",
                "escalation": s.id,
                "workflow_id": workflow.info().workflow_id,
                "reference": f"escalation {s.id}, {ladder.position(self.ctx.ladder, change.level, False)}",
            },
            self.link(due_at),
        )

    async def _email_past_ladder(self) -> None:
        s = self.ctx.state
        last = self.ctx.ladder[-1]
        wf = workflow.info().workflow_id
        await asyncio.gather(*(self.email(
            "ops",
            ops,
            "notice",
            self.subject("Unanswered past the last level:", "Escalation unanswered past the last level"),
            {
                "heading": "An escalation went past the last level of the ladder",
                "body": f"{s.reason} (trigger: {s.trigger}; about: {s.subject}; escalation {s.id}). "
                f"Nobody acknowledged it up to the last level, {last.name} "
                f"({', '.join(last.contacts)}). It stays open until it is resolved or withdrawn "
                f"(workflow {wf}).",
                "consequence": "it stays open, and the partnership stays escalated.",
                "action_label": "Open the escalation",
                "reference": f"escalation {s.id}, {ladder.position(self.ctx.ladder, s.level, True)}",
            },
            # Ops act on it too: the same page as every level's contacts.
            self.link(None),
        ) for ops in self.ops()))

    async def ask_confirmation(self) -> None:
        """Rules 2: its cause is gone; ask the current level (once) whether it may close."""
        s = self.ctx.state
        clearing = s.clearing
        if clearing is None or not clearing.pending or clearing.asked_at is not None or s.status.is_final:
            return
        if self.ctx.pager.local:
            # Schedule 1: each in their working hours (paging.py), from when the cause went.
            asking = self._owed(self._question_plan(), clearing.told)
            clearing.told += asking
            if set(clearing.told) >= set(clearing.asked):
                clearing.asked_at = workflow.now()
        else:
            asking = list(clearing.asked)
            clearing.asked_at = workflow.now()
        key = f"confirm-close/{len(s.levels)}"
        if self.key_each_question:
            # The cause may come back and go again at the same level: that is a new question
            # (a new deadline), and an email is sent once per key.
            key += f"/{clearing.at.strftime('%Y%m%dT%H%M%S%f')}"
        await asyncio.gather(*(self.email(
            key,
            who,
            "notice",
            self.subject("Can it close?"),
            {
                "heading": "Its cause is gone: can this escalation close?",
                "body": f"{s.reason} (escalation {s.id}). The cause is gone: {clearing.cause}. "
                "If the problem is over, confirm it closed; if it is not, keep it open and go on with CARE.",
                "due_at": clearing.until,
                "consequence": "it closes by itself at that time.",
                "action_label": "Confirm closed, or keep it open",
                "reference": f"escalation {s.id}",
            },
            self.link(clearing.until),
        ) for who in asking))

    async def tell_cleared(self) -> None:
        """Rules 2: it closed because its cause is gone: everyone it paged hears so, once."""
        s = self.ctx.state
        if s.status != EscalationStatus.cleared or s.cleared_told_at is not None:
            return
        s.cleared_told_at = workflow.now()
        await asyncio.gather(*(self.email(
            "cleared",
            who,
            "notice",
            self.subject("Closed, its cause is gone:"),
            {
                "heading": "This escalation is closed",
                "body": f"{s.reason} (escalation {s.id}). It closed on {when(s.closed_at or workflow.now())}: "
                f"{s.closed_cause}. Nothing more is asked of you about it.",
                "reference": f"escalation {s.id}",
            },
        ) for who in self.ctx.paged()))

    async def unreachable(self, who: str, why: str, purpose: str) -> None:
        state = self.ctx.state
        if who in state.unreachable:
            return
        state.unreachable = sorted({*state.unreachable, who})
        if who.startswith("ops"):
            return
        await self.email_ops(
            f"unreachable/{who}",
            self.subject(f"Cannot reach {who} about escalation", f"Cannot reach {who} about an escalation"),
            {
                "heading": f"{who} is unreachable by email",
                "body": f"{why}. They were to be told of escalation {state.id} ({purpose}).",
                "consequence": "They do not know about the escalation until the address is fixed.",
            },
        )

    def delay_notice(self, delay: EmailDelay, who: str) -> tuple[str, dict[str, Any]]:
        subject, context = super().delay_notice(delay, who)
        context["body"] += f" It was about escalation {self.ctx.state.id}."
        return subject, context

    async def event(self, event: EmailEvent | None) -> None:
        """Delivery news from the mail webhook (the emails carry this workflow's id)."""
        parts = event.send_key.split("/") if isinstance(event, EmailEvent) else []
        if not isinstance(event, EmailEvent) or len(parts) < 2:
            # Not one of this workflow's send keys (or no event at all): a signal cannot be
            # refused, and raising here would fail every workflow task from now on.
            workflow.logger.warning("email_event ignored: %r", event)
            return
        if event.event in ("bounce", "dropped", "blocked"):
            await self.unreachable(parts[-1], f"{event.event}: {event.reason or 'no reason given'}", parts[-2])
