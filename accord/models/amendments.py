"""Amendments: a changed definition on its way through approval."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from pydantic import Field

from accord.models.common import Channel, Payload
from definitions.schema import PartnershipDefinition


class AmendmentStatus(StrEnum):
    pending = "pending"  # in approval
    applied = "applied"
    rejected = "rejected"


class Amendment(Payload):
    id: str  # "amendment-<n>": also the id of its approval
    proposed_by: str
    reason: str
    channel: Channel
    proposed_at: datetime
    definition: PartnershipDefinition
    changes: list[str] = Field(default_factory=list, description="What differs from the definition in force (field paths).")
    escalation_id: str | None = Field(None, description="The escalation whose resolution proposed it.")
    sent_by: str | None = Field(None, description="Who sent the proposal for its proposer, if not them.")
    status: AmendmentStatus = AmendmentStatus.pending
    decided_at: datetime | None = None
