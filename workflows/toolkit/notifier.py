"""Email from a workflow: to people by id and to ops, with what happens when it cannot go.

Both workflows email through one :class:`Notifier` each; it owns the mechanics:

- people are addressed by stakeholder id (their address comes from the definition in force),
  ops as ``ops-<n>``, one email each; notices that can repeat wait for a quiet moment and go out
  as one digest per recipient (rules 2, ``workflows.toolkit.digest``);
- every email goes through :func:`workflows.toolkit.mailing.send` (one activity, one send key);
  a permanent refusal comes back as a failed receipt and is handed to :meth:`unreachable`;
- the send keys of this run's emails in flight are known, so the ``email_delayed`` signal
  (the email activity saying an email is still failing past the alert time) is taken only
  for one of them, recorded in the state, and, under rules 1, told to ops once per outage.

What differs between the workflows is theirs to say, by overriding: who must wait for an
email before continuing as new (:meth:`tracker`), how an unreachable person is recorded and
told (:meth:`unreachable`), how an ops notice is sent (:meth:`send_ops_notice`), and what is
recorded when a delay starts or ends.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any, Protocol

from temporalio import workflow

from workflows.toolkit import mailing

with workflow.unsafe.imports_passed_through():
    from accord.models import ActionLink, EmailDelay, Invitation, Recipient
    from definitions.schema import PartnershipDefinition


class MailState(Protocol):
    """What a workflow's state keeps about its email (PartnershipState, EscalationState)."""

    chain_id: str
    rules_version: int
    unreachable: list[str]
    email_delays: dict[str, EmailDelay]


class Notifier:
    def __init__(self, state: MailState, definition: Callable[[], PartnershipDefinition]) -> None:
        self.state = state
        # The definition in force (an amendment may change who is who, and their addresses).
        self.definition = definition
        # Send keys of this run's emails in flight (an email_delayed signal must name one).
        self.sending: set[str] = set()

    # ------------------------------------------------------------------ sending

    def recipient(self, who: str) -> Recipient:
        """A stakeholder by id, or an ops contact by ``ops-<n>``."""
        if who.startswith("ops-") and who[4:].isdigit():
            return self.ops()[int(who[4:])]
        person = self.definition().stakeholders()[who]
        return Recipient(id=person.id, name=person.name, email=person.email, timezone=self.definition().timezone_of(who))

    def ops(self) -> list[Recipient]:
        return [Recipient(id=f"ops-{i}", name=o.name, email=o.email) for i, o in enumerate(self.definition().ops)]

    async def email(
        self,
        purpose: str,
        to: str | Recipient,
        template: str,
        subject: str,
        context: dict[str, Any],
        action: ActionLink | None = None,
        invitation: Invitation | None = None,
    ) -> None:
        """Send one email (``to``: a stakeholder id or a recipient); a refusal goes to :meth:`unreachable`."""
        if isinstance(to, str):
            to = self.recipient(to)
        receipt = await mailing.send(
            chain_id=self.state.chain_id, purpose=purpose, to=to, template=template, subject=subject,
            context=context, partnership=self.definition().name, action=action, invitation=invitation,
            track=self.tracker(), started=self._started,
        )
        if receipt.status == "failed":
            await self.unreachable(to.id, f"email refused: {receipt.error}", purpose)

    async def email_ops(self, purpose: str, subject: str, context: dict[str, Any]) -> None:
        """The same notice to each of the definition's ops contacts."""
        await asyncio.gather(*(self.email(purpose, ops, "notice", subject, context) for ops in self.ops()))

    # ------------------------------------------------------------------ what each workflow says

    def tracker(self) -> Callable[[asyncio.Future], None] | None:
        """Where to hand an email the run must not be cut off from (None: the caller awaits it)."""
        return None

    async def unreachable(self, who: str, why: str, purpose: str) -> None:
        """A permanent delivery failure: kept in the record and told to ops, never dropped silently."""
        raise NotImplementedError

    async def send_ops_notice(self, purpose: str, subject: str, context: dict[str, Any]) -> None:
        """Tell ops of a delivery problem."""
        await self.email_ops(purpose, subject, context)

    def delay_notice(self, delay: EmailDelay, who: str) -> tuple[str, dict[str, Any]]:
        """The subject and context of ops' notice that an email to ``who`` is delayed."""
        return mailing.delay_notice(delay, who, self.definition().name)

    def delay_recorded(self, delay: EmailDelay) -> None:
        """A delay was recorded in the state."""

    def delay_ended(self, key: str, delay: EmailDelay, done: asyncio.Future) -> None:
        """A delayed email's activity ended (sent, refused or cancelled)."""

    # ------------------------------------------------------------------ emails in flight, delays

    def _started(self, key: str, handle: asyncio.Future) -> None:
        self.sending.add(key)
        handle.add_done_callback(lambda done: self._ended(key, done))

    def _ended(self, key: str, done: asyncio.Future) -> None:
        """An email's activity ended (sent, refused or cancelled): it is no longer delayed."""
        self.sending.discard(key)
        delay = self.state.email_delays.pop(key, None)
        if delay is None:
            return  # the usual case: no command here, so histories without delays replay as before
        self.delay_ended(key, delay, done)

    async def delayed(self, delay: EmailDelay | None) -> None:
        """The ``email_delayed`` signal: an email of this run is still failing past the alert time
        (sent once per send key). It is recorded; ops are told by email once per outage (rules 1),
        never about ops' own email."""
        delay = mailing.valid_delay(delay, self.state.chain_id)
        if delay is None or delay.send_key not in self.sending or delay.send_key in self.state.email_delays:
            # A signal cannot be refused; an email no longer in flight (or known) has nothing to report.
            workflow.logger.warning("email_delayed ignored: not an email of this run in flight, or known")
            return
        first = not self.state.email_delays
        self.state.email_delays[delay.send_key] = delay
        self.delay_recorded(delay)
        if self.state.rules_version < 1 or not first or delay.recipient.startswith("ops"):
            return
        person = self.definition().stakeholders().get(delay.recipient)
        who = f"{person.name} ({person.id})" if person else delay.recipient
        subject, context = self.delay_notice(delay, who)
        await self.send_ops_notice(f"email-delayed/{mailing.purpose_of(delay.send_key)}/{delay.recipient}",
                                   subject, context)
