"""What every aggregate shares: the payload base class, the stage, the health and the channel of an action."""

from __future__ import annotations

from enum import StrEnum

from pydantic import BaseModel, ConfigDict


class Stage(StrEnum):
    screening = "screening"
    mou = "mou"
    launch = "launch"
    active = "active"
    renewal = "renewal"
    closed = "closed"
    rejected = "rejected"
    terminated = "terminated"

    @property
    def is_final(self) -> bool:
        return self in (Stage.closed, Stage.rejected, Stage.terminated)

    @property
    def is_operating(self) -> bool:
        """Launched and not closed: metrics are recorded, reviews run, the partnership may be closed."""
        return self in (Stage.launch, Stage.active, Stage.renewal)


class Health(StrEnum):
    """The partnership's overall status, shown in the UI and kept in a search attribute."""

    on_track = "on_track"
    waiting = "waiting"  # waiting on a capability that is not built yet, or on ops
    at_risk = "at_risk"  # something is overdue or blocked
    escalated = "escalated"
    done = "done"  # closed after its life (renewal declined, or closed by ops)
    declined = "declined"  # ended before it began: no-go at screening, or the MOU never signed (rules 2)


class Channel(StrEnum):
    """How an action reached the workflow: recorded with every decision."""

    email_link = "email_link"
    web = "web"
    api = "api"
    cli = "cli"
    temporal = "temporal"


class Payload(BaseModel):
    model_config = ConfigDict(extra="ignore")
