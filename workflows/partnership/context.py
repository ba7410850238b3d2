"""What every part of one partnership run shares: the definition in force, the state, the people,
and the run's own bookkeeping that the state does not carry (the work in flight).

All state that outlives the run is in ``state`` (a ``PartnershipState``, the input of the next
run); everything else here is rebuilt by each run. The parts (screening, approvals, tasks...)
each hold this context and read the definition from it every time: an amendment replaces it.
"""

from __future__ import annotations

import asyncio

from temporalio import workflow

from workflows.partnership.scheduling import Scheduling
from workflows.toolkit.chain import new_chain_id
from workflows.versions import rules_version, schedule_version

with workflow.unsafe.imports_passed_through():
    from accord.models import PartnershipInput, PartnershipState
    from definitions.schema import PartnershipDefinition, Stakeholder


class PartnershipContext:
    def __init__(self, input: PartnershipInput) -> None:
        self.definition: PartnershipDefinition = input.definition
        # Continue as new well before Temporal's suggestion at 4,096 events: the run must still
        # finish what it is doing (handlers, an email in flight) after deciding to.
        self.history_limit = input.history_limit
        now = workflow.now()
        self.state: PartnershipState = input.state or PartnershipState(
            partnership_id=input.definition.id,
            name=input.definition.name,
            chain_id=new_chain_id(),
            started_at=now,
            stage_started_at=now,
        )
        # The rules this run follows (workflows/versions.py): only here, once per run.
        self.state.rules_version = rules_version(self.state.rules_version)
        # How it computes dates (workflows/versions.py): chosen once for the partnership's life.
        self.state.schedule_version = schedule_version(None if input.state is None else self.state.schedule_version)
        if input.state is None:
            self.state.allow_short_durations = input.allow_short_durations
        self.people: dict[str, Stakeholder] = self.definition.stakeholders()
        # False while the run waits in a stage this version cannot perform (health: waiting).
        self.stage_available = True
        # Emails and child starts of the operating stages: continue-as-new waits for them.
        self.in_flight: list[asyncio.Future] = []
        # Review dates, deadlines and reminder times, by the schedule version.
        self.schedule = Scheduling(self)

    def amend(self, definition: PartnershipDefinition) -> None:
        """An approved amendment: its definition is in force from now on."""
        self.definition = definition
        self.people = definition.stakeholders()
        self.state.name = definition.name

    def track(self, future: asyncio.Future) -> None:
        """Work the run must let finish before it continues as new (or ends)."""
        self.in_flight = [f for f in self.in_flight if not f.done()]
        self.in_flight.append(future)

    def quiet(self) -> bool:
        """Nothing tracked is in flight."""
        return all(f.done() for f in self.in_flight)

    def operating(self) -> bool:
        return self.state.stage.is_operating

    def history_is_long(self) -> bool:
        info = workflow.info()
        return info.is_continue_as_new_suggested() or info.get_current_history_length() >= self.history_limit
