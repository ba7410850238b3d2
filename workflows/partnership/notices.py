"""The partnership's email: its notifier, and the mail provider's news (the ``email_event`` signal).

In the operating stages an email is tracked (``PartnershipContext.track``): continue-as-new
waits until it is out, so none is cut off and sent again by the next run. A person the mail
provider cannot reach is kept in the state (``unreachable``), shown, and told to ops; ops'
notices outlive the chaser that found the failure (patch ``ops-notices-outlive-their-cause``).
Rules 2: notices that can repeat wait for a quiet moment and go out as one digest per recipient
(``digests``, ``workflows.toolkit.digest``): revised goal statements (``screening``), and ops'
notices of unreachable people.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from temporalio import workflow

from workflows.partnership.context import PartnershipContext
from workflows.partnership.record import Record
from workflows.toolkit import mailing
from workflows.toolkit.digest import Digests
from workflows.toolkit.notifier import Notifier
from workflows.versions import PATCH_OPS_NOTICES

with workflow.unsafe.imports_passed_through():
    from accord.logic import limits
    from accord.logic.describe import person, when
    from accord.models import (
        EmailDelay,
        EmailEvent,
        EmailEventRecord,
        EventKind,
        PendingDigest,
    )

# The digest topic of ops' notices about people the mail provider cannot reach (rules 2).
UNREACHABLE_DIGEST = "unreachable"


class PartnershipNotifier(Notifier):
    def __init__(self, ctx: PartnershipContext, record: Record) -> None:
        super().__init__(ctx.state, lambda: ctx.definition)
        self.ctx = ctx
        self.record = record
        self.digests = Digests(ctx.state, lambda: ctx.definition.notices)
        self.digests.topic(UNREACHABLE_DIGEST, self._unreachable_digest)

    def tracker(self) -> Callable[[asyncio.Future], None] | None:
        return self.ctx.track if self.ctx.operating() else None

    async def unreachable(self, who: str, why: str, purpose: str) -> None:
        self.record.log(EventKind.email_failed, detail=f"Could not reach {who}: {why}", data={"to": who, "purpose": purpose})
        self.state.unreachable = sorted({*self.state.unreachable, who})
        self.record.publish()
        if who.startswith("ops"):
            return
        if self.state.rules_version >= 2:
            self.digests.add(UNREACHABLE_DIGEST, [r.id for r in self.ops()],
                             f"{person(self.ctx.definition, who)} ({who}): {why}; the email was: {purpose}")
            return
        subject = f"Cannot reach {who}: {self.ctx.definition.name}"
        context = {"heading": f"{who} is unreachable by email", "body": f"{why}. The message was: {purpose}.",
                   "consequence": "Nobody receives this request until the address is fixed in the definition."}
        if workflow.patched(PATCH_OPS_NOTICES):
            await self.send_ops_notice(f"unreachable/{who}/{purpose}", subject, context)
        else:
            await self.email_ops(f"unreachable/{who}/{purpose}", subject, context)

    async def _unreachable_digest(self, digest: PendingDigest, ops: str, lines: list[str]) -> None:
        """Rules 2: one email to each ops contact for the delivery failures of a quiet period."""
        notice = asyncio.ensure_future(self.email(
            f"digest/{UNREACHABLE_DIGEST}/{digest.n}", ops, "notice",
            f"Cannot reach {len(lines)} recipient(s) by email: {self.ctx.definition.name}", {
                "heading": "Emails could not be delivered",
                "body": "The mail provider refused these emails for good. Fix the addresses in the definition "
                        "(an amendment), then tell the people what they missed.",
                "sections": [{"title": "Not delivered", "lines": lines}],
                "consequence": "Nobody receives these requests until the addresses are fixed in the definition.",
            }))
        # Tracked like every ops notice: it goes out even if the run is about to end.
        self.ctx.track(notice)
        await asyncio.shield(notice)

    async def send_ops_notice(self, purpose: str, subject: str, context: dict[str, Any]) -> None:
        # Shielded and tracked: the notice goes out even if what found the failure is cancelled.
        notice = asyncio.ensure_future(self.email_ops(purpose, subject, context))
        self.ctx.track(notice)
        await asyncio.shield(notice)

    def delay_recorded(self, delay: EmailDelay) -> None:
        self.record.log(EventKind.email_delayed, detail=f"Email to {delay.recipient} ({mailing.purpose_of(delay.send_key)}) "
                        f"delayed since {when(delay.since)}: {delay.error or 'no answer'}",
                        data={"to": delay.recipient, "send_key": delay.send_key})
        self.record.publish()

    def delay_ended(self, key: str, delay: EmailDelay, done: asyncio.Future) -> None:
        ended = mailing.how_it_ended(done)
        self.record.log(EventKind.email_delay_ended, detail=f"Email to {delay.recipient} ({mailing.purpose_of(key)}), delayed "
                        f"since {when(delay.since)}: {ended}", data={"to": delay.recipient, "send_key": key})
        self.record.publish()

    async def event(self, event: EmailEvent | None) -> None:
        """Delivery news from the mail provider's webhook. Bounces and drops make the person unreachable."""
        if not isinstance(event, EmailEvent) or limits.too_long(event.send_key) or "/" not in event.send_key:
            # A signal cannot be refused; raising would fail every workflow task from now on.
            workflow.logger.warning("email_event ignored: %r", event if not isinstance(event, EmailEvent) else event.send_key[:200])
            return
        events = self.ctx.state.email_events
        events.append(EmailEventRecord(send_key=event.send_key, event=event.event, reason=event.reason,
                                       recipient=event.recipient, at=workflow.now()))
        del events[:-limits.MAX_EMAIL_EVENTS]
        if event.event in ("bounce", "dropped", "blocked"):
            who = event.send_key.rsplit("/", 1)[-1]
            await self.unreachable(who, f"{event.event}: {event.reason or 'no reason given'}", event.send_key.split("/", 2)[-1])
