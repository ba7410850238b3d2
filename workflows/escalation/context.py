"""What every part of one escalation run shares: the definition it was raised under, its
ladder and people, and its state (the input of the next run, if it continues as new)."""

from __future__ import annotations

from temporalio import workflow

from workflows.escalation.paging import Pager
from workflows.toolkit.chain import new_chain_id
from workflows.versions import escalation_schedule_version, rules_version

with workflow.unsafe.imports_passed_through():
    from accord.models import (
        EscalationFacts,
        EscalationInput,
        EscalationState,
        EscalationStatus,
        LevelChange,
    )
    from definitions.durations import Duration
    from definitions.schema import EscalationLevel, PartnershipDefinition, Stakeholder


class EscalationContext:
    def __init__(self, input: EscalationInput) -> None:
        # Built in the workflow's @workflow.init: an update may arrive with the very first
        # workflow task and its validator must already find the state.
        self.definition: PartnershipDefinition = input.definition
        self.ladder: list[EscalationLevel] = self.definition.escalation.ladder
        self.people: dict[str, Stakeholder] = self.definition.stakeholders()
        self.parties: list[str] = [p.id for p in self.definition.parties]
        if input.state is not None:
            self.state: EscalationState = input.state
            self.state.runs += 1
            self.pager = Pager(self.definition, self.state.schedule_version, self.state.severity)
        else:
            now = workflow.now()
            level = min(max(input.level, 1), len(self.ladder))
            entry = self.ladder[level - 1]
            facts = input.model_dump(include=set(EscalationFacts.model_fields))
            # Rules 2: raised again within the quiet period after the same cause cleared: the
            # level is told (and its window starts) only once the period is over.
            quiet_until = input.quiet_until if input.quiet_until and input.quiet_until > now else None
            schedule = escalation_schedule_version(input.schedule_version)
            self.pager = Pager(self.definition, schedule, input.severity)
            # The level's window counts from when its first contact is told (schedule 1: in their
            # working hours; else at once, or once the quiet period is over).
            paged_at = self.pager.plan(quiet_until or now, list(entry.contacts), entry.respond_within).starts
            self.state = EscalationState(
                **facts,
                partnership_workflow_id=input.partnership_workflow_id,
                partnership=self.definition.name,
                chain_id=new_chain_id(),
                level=level,
                # The window counts from when this workflow holds the escalation, which is
                # when its contacts are told (moments after the parent raised it).
                level_reached_at=paged_at,
                quiet_until=quiet_until,
                schedule_version=schedule,
                levels=[
                    LevelChange(
                        level=level, name=entry.name, contacts=list(entry.contacts), at=paged_at,
                        cause=f"raised by {input.raised_by} ({input.trigger})"
                        + (" again within the quiet period after its cause last cleared" if quiet_until else ""),
                    )
                ],
            )
        # The partnership's rules (workflows/versions.py), through the same patches: only here, once per run.
        self.state.rules_version = rules_version(self.state.rules_version, offered=input.rules_version)
        if input.state is None:
            self.state.allow_short_durations = input.allow_short_durations

    def snapshot(self) -> tuple[int, bool, EscalationStatus]:
        """What the partnership is told of: the level, whether ops have it, the status."""
        return self.state.level, self.state.with_ops, self.state.status

    def respond_within(self) -> Duration:
        """The current level's time to answer (the last level's once ops have it)."""
        return self.ladder[min(self.state.level, len(self.ladder)) - 1].respond_within

    def level_name(self, level: int | None) -> str:
        return "ops" if level is None else self.ladder[level - 1].name

    def current_contacts(self) -> list[str]:
        """Who holds it now: the current level's contacts, or ops (``ops-<n>``) past the ladder."""
        if self.state.with_ops:
            return [f"ops-{i}" for i in range(len(self.definition.ops))]
        return list(self.ladder[self.state.level - 1].contacts)

    def paged(self) -> list[str]:
        """Everyone it has paged so far (each level's contacts once they were told), in order."""
        return list(dict.fromkeys(who for change in self.state.levels
                                  for who in (change.contacts if change.notified_at is not None else change.told)))

    def paging_held(self) -> bool:
        """Rules 2: within the quiet period, the level's contacts are not told yet."""
        quiet = self.state.quiet_until
        return quiet is not None and workflow.now() < quiet
