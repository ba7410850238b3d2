"""Who is who in a partnership, for the pages: names, roles and parties.

The workflow's state names people by stakeholder id only; their names, roles and
parties come from the workflow's `definition` query (the definition in force).
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass

from temporalio.service import RPCError

from accord.client import Accord
from definitions.schema import PartnershipDefinition

log = logging.getLogger("accord.web")


@dataclass(frozen=True)
class Person:
    id: str
    name: str
    role: str
    party: str

    @property
    def label(self) -> str:
        return f"{self.name} ({self.role}, {self.party})"


async def lookup(accord: Accord, workflow_id: str, timeout: float = 15) -> dict[str, Person] | None:
    """Everyone named in the partnership's definition, by stakeholder id; None if it cannot be read."""
    found = await definition(accord, workflow_id, timeout)
    return None if found is None else of(found)


async def definition(accord: Accord, workflow_id: str, timeout: float = 15) -> PartnershipDefinition | None:
    """The partnership's definition in force; None if it cannot be read."""
    try:
        return await asyncio.wait_for(accord.definition(workflow_id), timeout)
    except (RPCError, TimeoutError, ValueError, TypeError, LookupError) as exc:
        log.warning("reading the definition of %s failed: %s", workflow_id, type(exc).__name__)
        return None


def of(definition: PartnershipDefinition) -> dict[str, Person]:
    return {
        s.id: Person(id=s.id, name=s.name, role=s.role, party=party.name)
        for party in definition.parties
        for s in party.stakeholders
    }
