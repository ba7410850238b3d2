"""Notices that can repeat, batched: wait for a quiet moment, then one digest per recipient (rules 2).

A goal statement revised five times in a minute, or one person's emails bouncing one after
another, should not make five emails to everyone. Whatever can wait goes through
:meth:`Digests.add` (a topic, its recipients, one line saying what happened) instead of
straight to the notifier. A topic's digest goes out once nothing new has been added to it for
the definition's ``notices.quiet_period``, or at the latest ``notices.max_delay`` after its
first line: one email per recipient, composed by the topic's composer from the lines and the
state as it is then (which may say there is nothing left to tell).

Deterministic: durable timers only (``wait_condition`` with a timeout, re-armed when a line is
added), and what waits is in the workflow's state (``digests``, ``digests_sent``), so a
continue-as-new carries it and the next run sends it. Each digest has its own send key
(``digest/<topic>/<n>``), so a replay or a retry never sends one twice.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from typing import Protocol

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from accord.models import PendingDigest
    from definitions.schema import Notices

# What a digest keeps per recipient (the latest lines; the count says how many there were).
MAX_LINES = 20

# Sends a topic's digest to one recipient: (the digest, the recipient's id, their lines).
Composer = Callable[[PendingDigest, str, list[str]], Awaitable[None]]


class DigestState(Protocol):
    digests: dict[str, PendingDigest]
    digests_sent: dict[str, int]


class Digests:
    def __init__(self, state: DigestState, timing: Callable[[], Notices]) -> None:
        self.state = state
        # The definition in force says how long to wait (an amendment may change it).
        self.timing = timing
        self.composers: dict[str, Composer] = {}
        # Lines added by this run: a wait in progress is re-armed when it changes.
        self._added = 0
        # Closing: send whatever waits now, without waiting for quiet.
        self._flushing = False
        self._sending = 0

    def topic(self, topic: str, composer: Composer) -> None:
        self.composers[topic] = composer

    def add(self, topic: str, recipients: list[str], line: str) -> None:
        """``line`` for each of ``recipients``, in the topic's next digest."""
        now = workflow.now()
        digest = self.state.digests.get(topic)
        if digest is None:
            digest = PendingDigest(topic=topic, n=self.state.digests_sent.get(topic, 0) + 1, first_at=now, last_at=now)
            self.state.digests[topic] = digest
        digest.last_at = now
        for who in recipients:
            lines = digest.lines.setdefault(who, [])
            lines.append(line)
            del lines[:-MAX_LINES]
        self._added += 1

    def due(self, digest: PendingDigest) -> datetime:
        timing = self.timing()
        return min(timing.quiet_period.after(digest.last_at), timing.max_delay.after(digest.first_at))

    async def run(self) -> None:
        """Send each topic's digest when it is due, for as long as the workflow runs."""
        pending = self.state.digests
        while True:
            await workflow.wait_condition(lambda: bool(pending))
            topic = min(pending, key=lambda t: (self.due(pending[t]), t))
            wait = self.due(pending[topic]) - workflow.now()
            if wait > timedelta(0) and not self._flushing:
                added = self._added
                try:
                    await workflow.wait_condition(lambda: self._added != added or self._flushing,  # noqa: B023
                                                  timeout=wait, timeout_summary=f"quiet period: {topic} notices")
                    continue  # something new: the topic's due time (or another topic's) moved
                except TimeoutError:
                    pass
            await self.send(pending.pop(topic))

    async def send(self, digest: PendingDigest) -> None:
        self.state.digests_sent[digest.topic] = digest.n
        composer = self.composers[digest.topic]
        self._sending += 1
        try:
            await asyncio.gather(*(composer(digest, who, lines) for who, lines in sorted(digest.lines.items())))
        finally:
            self._sending -= 1

    def idle(self) -> bool:
        """Nothing waits and nothing is being sent."""
        return not self.state.digests and not self._sending

    async def flush(self) -> None:
        """Send everything that waits now (the workflow is ending) and return once it is out."""
        self._flushing = True
        await workflow.wait_condition(self.idle)
