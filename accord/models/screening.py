"""The goal-alignment check of screening: statements and their divergence."""

from __future__ import annotations

from datetime import datetime

from pydantic import Field

from accord.models.common import Payload


class Statement(Payload):
    stakeholder: str
    party: str
    text: str
    at: datetime
    revision: int = 1


class AlignmentResult(Payload):
    divergence: float
    across_parties: float
    within_party: dict[str, float]
    threshold: float
    blocked: bool
    computed_at: datetime


class Alignment(Payload):
    statements: dict[str, Statement] = Field(default_factory=dict)
    result: AlignmentResult | None = None
    overridden_by: str | None = None
    override_reason: str = ""

    @property
    def passed(self) -> bool:
        return self.overridden_by is not None or (self.result is not None and not self.result.blocked)
