"""Notices waiting for a quiet moment (rules 2): ``workflows/toolkit/digest.py`` batches notices that can
repeat into one email per recipient; what waits is kept in the state so a continue-as-new carries it."""

from __future__ import annotations

from datetime import datetime

from pydantic import Field

from accord.models.common import Payload


class PendingDigest(Payload):
    topic: str
    n: int = Field(description="The topic's n-th digest (its send key).")
    first_at: datetime
    last_at: datetime
    lines: dict[str, list[str]] = Field(default_factory=dict, description="Recipient id -> what happened, in order.")
