"""One escalation, as its own workflow: a child of the partnership, visible on its own in the Temporal UI.

It emails the current ladder level's contacts, waits for that level's ``respond_within``
and climbs to the next level when nobody acknowledges, resolves or withdraws it in time
(when and where to: ``accord.logic.ladder``). Past the last level it tells ops once and
stays open. Acknowledging stops the climb; the people involved then record the CARE
steps (Clarify, Acknowledge, Reframe, Explore) and resolve it, or it is withdrawn with a
reason. Resolving or withdrawing ends the workflow, returning the final state.

Every level and status change is recorded (time and cause) and reported to the
partnership by the ``escalation_changed`` signal. The partnership starts this workflow
with ``ParentClosePolicy.ABANDON`` so the escalation survives the partnership's
continue-as-new, and the signal always reaches the partnership's latest run.

People act through Updates with validators (refused before anything is written to
history); the parent, which cannot send Updates, withdraws by the ``request_withdrawal``
signal.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import get_args

from temporalio import workflow
from temporalio.exceptions import ApplicationError, FailureError

from workflows import mailing, telemetry
from workflows.versions import PATCH_AMENDMENT_APPROVAL, rules_version

with workflow.unsafe.imports_passed_through():
    from accord import search_attributes as sa
    from accord.logic import ladder
    from accord.models import (
        Acknowledge,
        AcknowledgementRecord,
        ActionLink,
        AmendmentDecided,
        CareEntry,
        CareNote,
        Channel,
        EmailDelay,
        EmailEvent,
        EscalationChanged,
        EscalationFacts,
        EscalationInput,
        EscalationLink,
        EscalationState,
        EscalationStatus,
        LevelChange,
        Recipient,
        Resolve,
        SupersededCareNote,
        UpdateResult,
        Withdraw,
    )
    from definitions import loader
    from definitions.schema import EscalationLevel, PartnershipDefinition

# The signal the partnership workflow handles (payload: EscalationChanged).
CHANGED_SIGNAL = "escalation_changed"
# The partnership's answer to a resolution that proposed an amendment (payload: AmendmentDecided).
AMENDMENT_SIGNAL = "amendment_decided"

# Same policy as the partnership's email: a provider outage delays an escalation email,
# never drops it; permanent refusals come back as a "failed" receipt, not an exception.

# Links stay usable a while after the level's window: the escalation is still open then.
LINK_GRACE = timedelta(days=30)

MAX_TEXT = 5_000
MAX_AMENDMENT = 50_000

# ActionLink.action does not admit "escalation" yet, and the email activity validates its
# request against ActionLink: sending an EscalationLink would fail the activity on every
# retry. So the link is attached only once ActionLink accepts it; until then the email
# carries the escalation id and the commands to act. This is fixed per deployment (module
# constant), and activity inputs are not compared on replay, so it is replay-safe.
LINKS_SUPPORTED = "escalation" in get_args(ActionLink.model_fields["action"].annotation)


def escalation_workflow_id(partnership_workflow_id: str, chain_id: str, escalation_id: str) -> str:
    """The child's workflow id: ``partnership-x.esc-1.1a2b3c4d``.

    Escalation ids restart at esc-1 when a partnership is started afresh under the same
    id, while an abandoned child of the earlier life may still run: the chain id (the
    partnership's first run id) tells them apart. No '/', so it fits a URL path segment.
    """
    return f"{partnership_workflow_id}.{escalation_id}.{chain_id[:8]}"


def _recheck(validator: Callable[[object], None], arg: object) -> None:
    """Validate again inside the handler, under the lock.

    Two updates accepted in one workflow task both pass their validators before either
    handler runs (two people resolving at once); the second must still be refused. An
    ApplicationError fails only that update; any other exception would fail the workflow
    task and retry it forever.
    """
    try:
        validator(arg)
    except ValueError as exc:
        raise ApplicationError(str(exc), type="ActionRefused", non_retryable=True) from None


def _parse_amendment(text: str, state: EscalationState) -> PartnershipDefinition:
    """The amended definition (YAML), checked like ``accord validate`` under the partnership's
    rules and durations: a ValueError says what is wrong."""
    try:
        return loader.parse(text, "amendment", rules=state.rules_version, allow_short=state.allow_short_durations)
    except loader.DefinitionError as exc:
        raise ValueError("The amended definition is not valid: " + "; ".join(str(i) for i in exc.issues[:5])) from None


def _text(value: str, what: str, limit: int = MAX_TEXT) -> str:
    text = value.strip()
    if not text:
        raise ValueError(f"{what} is required.")
    if len(text) > limit:
        raise ValueError(f"{what} is longer than {limit:,} characters.")
    return text


@workflow.defn
class EscalationWorkflow:
    @workflow.init
    def __init__(self, input: EscalationInput) -> None:
        # Built here, not in run(): an update may arrive with the very first workflow task
        # and its validator must already find the state.
        self.definition: PartnershipDefinition = input.definition
        self.ladder: list[EscalationLevel] = self.definition.escalation.ladder
        self.people = self.definition.stakeholders()
        self.parties = [p.id for p in self.definition.parties]
        self._lock = asyncio.Lock()
        if input.state is not None:
            self.state: EscalationState = input.state
            self.state.runs += 1
        else:
            now = workflow.now()
            level = min(max(input.level, 1), len(self.ladder))
            entry = self.ladder[level - 1]
            facts = input.model_dump(include=set(EscalationFacts.model_fields))
            self.state = EscalationState(
                **facts,
                partnership_workflow_id=input.partnership_workflow_id,
                partnership=self.definition.name,
                chain_id=workflow.info().run_id,
                level=level,
                # The window counts from when this workflow holds the escalation, which is
                # when its contacts are told (moments after the parent raised it).
                level_reached_at=now,
                levels=[
                    LevelChange(
                        level=level, name=entry.name, contacts=list(entry.contacts), at=now,
                        cause=f"raised by {input.raised_by} ({input.trigger})",
                    )
                ],
            )
        # The partnership's rules (workflows/versions.py), through the same patches: only here, once per run.
        self.state.rules_version = rules_version(self.state.rules_version, offered=input.rules_version)
        if input.state is None:
            self.state.allow_short_durations = input.allow_short_durations
        # Send keys of this run's emails in flight (an email_delayed signal must name one).
        self._sending: set[str] = set()
        # What the parent already knows: the level and status it raised the escalation with,
        # or, after continue-as-new, what the previous run reported before it ended.
        self._reported = self._snapshot()
        self._search_level: int | None = None

    # ------------------------------------------------------------------ run

    @workflow.run
    async def run(self, input: EscalationInput) -> EscalationState:
        while True:
            self._publish()
            await self._notify_owed()
            await self._report()
            if self.state.status.is_final:
                break
            if workflow.info().is_continue_as_new_suggested():
                # Never from a handler, and only once none is running: a handler cut off by
                # continue-as-new would lose its caller's answer.
                await workflow.wait_condition(workflow.all_handlers_finished)
                # A handler that ran meanwhile may have changed what the parent must be told:
                # go round once more to report it first.
                if self._snapshot() == self._reported:
                    workflow.continue_as_new(input.model_copy(update={"state": self.state}))
                continue
            climb = ladder.next_climb(
                self.ladder,
                None if self.state.with_ops else self.state.level,
                self.state.level_reached_at,
                acknowledged=self.state.status != EscalationStatus.open,
            )
            if climb is None:
                # Acknowledged or with ops: nothing more on the clock; wait for the next change.
                await workflow.wait_condition(self._woken)
                continue
            wait = climb.at - workflow.now()
            if wait > timedelta(0):
                try:
                    # Any change (acknowledged, resolved, withdrawn) loops round to report it and
                    # recompute the climb; only the timeout climbs.
                    await workflow.wait_condition(
                        self._woken, timeout=wait,
                        timeout_summary=f"climb to {self._name(climb.to_level)} unless acknowledged",
                    )
                    continue
                except asyncio.TimeoutError:
                    # An acknowledgement applied in the same workflow task as the timer wins:
                    # the person answered in time as far as anyone can tell.
                    if self._snapshot() != self._reported:
                        continue
            self._climb(climb)
        await workflow.wait_condition(workflow.all_handlers_finished)
        return self.state

    def _snapshot(self) -> tuple[int, bool, EscalationStatus]:
        return self.state.level, self.state.with_ops, self.state.status

    def _woken(self) -> bool:
        return self._snapshot() != self._reported or workflow.info().is_continue_as_new_suggested()

    def _climb(self, climb: ladder.Climb) -> None:
        now = workflow.now()
        if climb.to_level is None:
            self.state.with_ops = True
            contacts = [f"ops-{i}" for i in range(len(self.definition.ops))]
        else:
            self.state.level = climb.to_level
            contacts = list(self.ladder[climb.to_level - 1].contacts)
        self.state.level_reached_at = now
        self.state.levels.append(
            LevelChange(level=climb.to_level, name=self._name(climb.to_level), contacts=contacts, at=now, cause=climb.cause)
        )

    def _name(self, level: int | None) -> str:
        return "ops" if level is None else self.ladder[level - 1].name

    # ------------------------------------------------------------------ notifications

    async def _notify_owed(self) -> None:
        """Email the contacts of the latest level change, once (tracked in the state, so a
        continue-as-new or a replay never emails them twice)."""
        change = self.state.levels[-1]
        if change.notified_at is not None or self.state.status.is_final:
            return
        if change.level is None:
            await self._email_ops()
        else:
            await asyncio.gather(*(self._email_level(change, who) for who in change.contacts))
        change.notified_at = workflow.now()

    def _due_at(self, change: LevelChange) -> datetime | None:
        climb = ladder.next_climb(self.ladder, change.level, change.at, acknowledged=False)
        return climb.at if climb else None

    async def _email_level(self, change: LevelChange, who: str) -> None:
        assert change.level is not None
        s = self.state
        step = len(s.levels)
        due_at = self._due_at(change)
        last_level = change.level == len(self.ladder)
        body = f"{s.reason} (trigger: {s.trigger}; about: {s.subject}; severity: {s.severity}; escalation {s.id})."
        if step > 1:
            body += f" It reached you after {change.cause} at the previous level."
        if s.status == EscalationStatus.acknowledged:
            body += " It has been acknowledged; please help record the CARE steps and resolve it."
        if not LINKS_SUPPORTED:
            body += f" To acknowledge it, ask ops to record it (escalation workflow {workflow.info().workflow_id})."
        link = EscalationLink(ref=s.id, round=step, expires_at=(due_at or workflow.now()) + LINK_GRACE)
        await self._email(
            f"level-{step}",
            who,
            f"Escalation ({change.name}): {self.definition.name}",
            {
                "heading": f"Escalated to you: {change.name}",
                "body": body,
                "due_at": due_at,
                # The template says "If nobody acts: ..."
                "consequence": "ops are told and it stays open." if last_level
                else f"it climbs to the next level, {self.ladder[change.level].name}.",
                "action_label": "Open the escalation",
                "escalation": s.id,
                "workflow_id": workflow.info().workflow_id,
            },
            ActionLink.model_validate(link.model_dump()) if LINKS_SUPPORTED else None,
        )

    async def _email_ops(self) -> None:
        s = self.state
        last = self.ladder[-1]
        wf = workflow.info().workflow_id
        await asyncio.gather(
            *(
                self._email(
                    "ops",
                    Recipient(id=f"ops-{i}", name=o.name, email=o.email),
                    f"Escalation unanswered past the last level: {self.definition.name}",
                    {
                        "heading": "An escalation went past the last level of the ladder",
                        "body": f"{s.reason} (trigger: {s.trigger}; about: {s.subject}; escalation {s.id}). "
                        f"Nobody acknowledged it up to the last level, {last.name} "
                        f"({', '.join(last.contacts)}). It stays open until it is resolved or withdrawn "
                        f"(workflow {wf}).",
                        "consequence": "it stays open, and the partnership stays escalated.",
                    },
                )
                for i, o in enumerate(self.definition.ops)
            )
        )

    async def _email(self, purpose: str, to: str | Recipient, subject: str, context: dict,
                     action: ActionLink | None = None) -> None:
        if isinstance(to, str):
            person = self.people[to]
            to = Recipient(id=person.id, name=person.name, email=person.email)
        receipt = await mailing.send(
            chain_id=self.state.chain_id, purpose=purpose, to=to, template="notice", subject=subject,
            context=context, partnership=self.definition.name, action=action, started=self._sending_started,
        )
        if receipt.status == "failed":
            await self._unreachable(to.id, f"email refused: {receipt.error}", purpose)

    def _sending_started(self, key: str, handle: asyncio.Future) -> None:
        self._sending.add(key)
        handle.add_done_callback(lambda done: self._sending_ended(key))

    def _sending_ended(self, key: str) -> None:
        self._sending.discard(key)
        self.state.email_delays.pop(key, None)

    async def _unreachable(self, who: str, why: str, purpose: str) -> None:
        """A permanent delivery failure: kept in the record and told to ops, never dropped silently."""
        if who in self.state.unreachable:
            return
        self.state.unreachable = sorted({*self.state.unreachable, who})
        if who.startswith("ops"):
            return
        await asyncio.gather(
            *(
                self._email(
                    f"unreachable/{who}",
                    Recipient(id=f"ops-{i}", name=o.name, email=o.email),
                    f"Cannot reach {who} about an escalation: {self.definition.name}",
                    {
                        "heading": f"{who} is unreachable by email",
                        "body": f"{why}. They were to be told of escalation {self.state.id} ({purpose}).",
                        "consequence": "They do not know about the escalation until the address is fixed.",
                    },
                )
                for i, o in enumerate(self.definition.ops)
            )
        )

    async def _report(self) -> None:
        """Tell the partnership of a level or status change (it keeps the escalation's summary)."""
        snapshot = self._snapshot()
        if snapshot == self._reported:
            return
        self._reported = snapshot
        last = self.state.levels[-1]
        change = EscalationChanged(
            escalation_id=self.state.id,
            level=self.state.level,
            status=self.state.status,
            with_ops=self.state.with_ops,
            at=workflow.now(),
            cause=self._status_cause() if self.state.status != EscalationStatus.open else last.cause,
            amendment=self.state.proposed_amendment if self.state.status == EscalationStatus.awaiting_amendment else None,
        )
        try:
            await workflow.get_external_workflow_handle(self.state.partnership_workflow_id).signal(CHANGED_SIGNAL, change)
        except FailureError as exc:
            # The partnership is gone (finished or terminated): the escalation carries on, and
            # its own record in this workflow is complete without the parent's copy.
            workflow.logger.warning("could not tell %s of %s: %s", self.state.partnership_workflow_id, self.state.id, exc)

    def _status_cause(self) -> str:
        s = self.state
        if s.status == EscalationStatus.acknowledged:
            return f"acknowledged by {s.acknowledgements[0].actor}"
        if s.status == EscalationStatus.awaiting_amendment:
            return f"resolved by {s.resolved_by}, subject to an amendment"
        if s.status == EscalationStatus.resolved:
            return f"resolved by {s.closed_by}"
        return f"withdrawn by {s.closed_by}: {s.withdrawn_reason}"

    # ------------------------------------------------------------------ UI

    def _publish(self) -> None:
        """Mirror the position into the Temporal UI (current details, escalation level)."""
        level = self.state.level + (1 if self.state.with_ops else 0)
        if level != self._search_level:
            # Only on change: each upsert is a history event. No personal data here.
            workflow.upsert_search_attributes(
                [sa.ESCALATION_LEVEL.value_set(level), sa.PARTNERSHIP.value_set(self.definition.name)]
            )
            self._search_level = level
        workflow.set_current_details(self._details_markdown())
        telemetry.observe_escalation(self)  # metrics and logs only: no workflow commands

    def _details_markdown(self) -> str:
        s = self.state
        lines = [f"**Escalation {s.id}** · {s.status.value} · {s.trigger}: {s.subject}", "", s.reason, ""]
        if s.status.is_final:
            lines.append(f"{s.status.value.capitalize()} by {s.closed_by} on {s.closed_at:%Y-%m-%d %H:%M} UTC")
        elif s.with_ops:
            lines.append(f"Past the last level ({self.ladder[-1].name}): with ops since {s.level_reached_at:%Y-%m-%d %H:%M} UTC")
        else:
            entry = self.ladder[s.level - 1]
            who = ", ".join(self.people[c].name for c in entry.contacts if c in self.people)
            lines.append(f"**Level {s.level} of {len(self.ladder)}: {entry.name}** ({who})")
            if s.status == EscalationStatus.open:
                climb = ladder.next_climb(self.ladder, s.level, s.level_reached_at, acknowledged=False)
                assert climb is not None
                lines.append(f"Until {climb.at:%Y-%m-%d %H:%M} UTC, then {self._name(climb.to_level)}")
            else:
                lines.append(f"Acknowledged by {', '.join(a.actor for a in s.acknowledgements)}; CARE to do: "
                             f"{', '.join(s.care.missing(self.parties)) or 'nothing'}")
        return "\n".join(lines)

    # ------------------------------------------------------------------ queries

    @workflow.query
    def state(self) -> EscalationState:
        return self.state

    # ------------------------------------------------------------------ updates

    def _check_actor(self, actor: str) -> None:
        if actor != "ops" and actor not in self.people:
            raise ValueError(f"{actor!r} is not a stakeholder of this partnership.")

    def _check_open(self) -> None:
        if self.state.status.is_final:
            raise ValueError(f"This escalation is already {self.state.status.value}.")

    @workflow.update
    async def acknowledge(self, ack: Acknowledge) -> UpdateResult:
        async with self._lock:
            _recheck(self._validate_acknowledge, ack)
            self.state.acknowledgements.append(
                AcknowledgementRecord(actor=ack.actor, note=ack.note.strip(), at=workflow.now(), level=self.state.level,
                                      channel=ack.channel)
            )
            first = self.state.status == EscalationStatus.open
            self.state.status = EscalationStatus.acknowledged
            self._publish()
            if first:
                return UpdateResult(message="Acknowledged: the escalation stops climbing. Next, record the CARE steps.")
            return UpdateResult(message="Your acknowledgement is recorded.")

    @acknowledge.validator
    def _validate_acknowledge(self, ack: Acknowledge) -> None:
        self._check_actor(ack.actor)
        self._check_open()
        if len(ack.note) > MAX_TEXT:
            raise ValueError(f"The note is longer than {MAX_TEXT:,} characters.")
        earlier = next((a for a in self.state.acknowledgements if a.actor == ack.actor), None)
        if earlier is not None:
            raise ValueError(f"{ack.actor} already acknowledged it on {earlier.at:%Y-%m-%d %H:%M} UTC.")

    @workflow.update
    async def record_care(self, entry: CareEntry) -> UpdateResult:
        async with self._lock:
            _recheck(self._validate_care, entry)
            care = self.state.care
            note = CareNote(text=entry.text.strip(), by=entry.actor, at=workflow.now(), channel=entry.channel)
            party = self._care_party(entry)
            previous = care.acknowledge.get(party) if party else getattr(care, entry.step)
            if previous is not None:
                care.superseded.append(SupersededCareNote(step=entry.step, party=party, note=previous))
            if party:
                care.acknowledge[party] = note
            else:
                setattr(care, entry.step, note)
            self._publish()
            missing = care.missing(self.parties)
            return UpdateResult(
                message=f"{entry.step.capitalize()} is recorded. "
                + (f"Still to record: {', '.join(missing)}." if missing else "The CARE record is complete; it can be resolved.")
            )

    def _speaks_for(self, actor: str, channel: Channel, party: str | None) -> bool:
        """A party's perspective comes from that party's people, or from ops (who act through
        the CLI, the API or Temporal, never through an email link)."""
        if actor == "ops":
            return channel in (Channel.cli, Channel.api, Channel.temporal)
        return party is not None and any(s.id == actor for p in self.definition.parties if p.id == party
                                         for s in p.stakeholders)

    def _care_party(self, entry: CareEntry) -> str | None:
        if entry.step != "acknowledge":
            return None
        return entry.party or self.definition.party_of(entry.actor).id

    @record_care.validator
    def _validate_care(self, entry: CareEntry) -> None:
        self._check_actor(entry.actor)
        if self.state.status.is_final:
            raise ValueError(f"The CARE record is closed: the escalation is {self.state.status.value}.")
        _text(entry.text, f"The {entry.step} text")
        if entry.step == "acknowledge":
            if entry.party is None and entry.actor not in self.people:
                raise ValueError("Say whose perspective this is: ops must name the party.")
            if entry.party is not None and entry.party not in self.parties:
                raise ValueError(f"{entry.party!r} is not a party of this partnership ({', '.join(self.parties)}).")
            if self.state.rules_version >= 1 and not self._speaks_for(entry.actor, entry.channel, self._care_party(entry)):
                # Rules 1: otherwise one party's person could fill in every perspective and
                # complete the record alone.
                party = next(p for p in self.definition.parties if p.id == entry.party)
                raise ValueError(f"{party.name}'s perspective is recorded by {party.name}'s people or by ops.")
        elif entry.party is not None:
            raise ValueError(f"A party is named only for the acknowledge step, not for {entry.step}.")

    @workflow.update
    async def resolve(self, resolve: Resolve) -> UpdateResult:
        async with self._lock:
            _recheck(self._validate_resolve, resolve)
            amendment = (resolve.amendment or "").strip()
            self.state.resolution = resolve.resolution.strip()
            self.state.proposed_amendment = amendment or None
            if amendment and workflow.patched(PATCH_AMENDMENT_APPROVAL):
                # Resolved subject to the amendment: the partnership runs it through approval
                # and answers by signal (amendment_decided); only then does this close.
                self.state.status = EscalationStatus.awaiting_amendment
                self.state.resolved_by = resolve.actor
                self.state.resolved_channel = resolve.channel
                self._publish()
                return UpdateResult(message="The resolution is recorded; its amendment goes to approval, and the "
                                    "escalation closes once it is approved.")
            self._close(EscalationStatus.resolved, resolve.actor, resolve.channel)
            return UpdateResult(message="The escalation is resolved."
                                + (" The proposed amendment is recorded." if amendment else ""))

    @resolve.validator
    def _validate_resolve(self, resolve: Resolve) -> None:
        self._check_actor(resolve.actor)
        self._check_open()
        if self.state.status == EscalationStatus.awaiting_amendment:
            raise ValueError("A resolution is already waiting for its amendment's approval.")
        _text(resolve.resolution, "A resolution")
        if resolve.amendment is not None and len(resolve.amendment) > MAX_AMENDMENT:
            raise ValueError(f"The amendment is longer than {MAX_AMENDMENT:,} characters.")
        if resolve.amendment and resolve.amendment.strip():
            amended = _parse_amendment(resolve.amendment, self.state)
            if amended.id != self.definition.id:
                raise ValueError(f"The amended definition is for {amended.id!r}, not {self.definition.id!r}.")
        missing = self.state.care.missing(self.parties)
        if missing:
            # CARE before resolution is the point of the model: a resolution nobody clarified
            # or reframed is how the same conflict comes back. Withdraw if it is moot.
            raise ValueError(f"Record the CARE steps first: {', '.join(missing)} missing.")

    @workflow.update
    async def withdraw(self, withdraw: Withdraw) -> UpdateResult:
        async with self._lock:
            _recheck(self._validate_withdraw, withdraw)
            self._apply_withdraw(withdraw)
            return UpdateResult(message="The escalation is withdrawn.")

    @withdraw.validator
    def _validate_withdraw(self, withdraw: Withdraw) -> None:
        self._check_actor(withdraw.actor)
        self._check_withdrawable(withdraw)

    def _check_withdrawable(self, withdraw: Withdraw) -> None:
        self._check_open()
        _text(withdraw.reason, "A reason for withdrawing")

    def _apply_withdraw(self, withdraw: Withdraw) -> None:
        self.state.withdrawn_reason = withdraw.reason.strip()
        self._close(EscalationStatus.withdrawn, withdraw.actor, withdraw.channel)

    def _close(self, status: EscalationStatus, actor: str, channel) -> None:
        self.state.status = status
        self.state.closed_by = actor
        self.state.closed_at = workflow.now()
        self.state.closed_channel = channel
        self._publish()

    # ------------------------------------------------------------------ signals

    @workflow.signal
    def request_withdrawal(self, withdraw: Withdraw | None) -> None:
        """The partnership withdraws it (the overdue work got done, the partnership closed).
        Workflows cannot send Updates, so this is a signal: an invalid one is logged and ignored.
        Besides stakeholders and ops, the actor may be "accord" (the partnership workflow itself)."""
        if not isinstance(withdraw, Withdraw):
            workflow.logger.warning("request_withdrawal without a withdrawal ignored: %r", withdraw)
            return
        try:
            if withdraw.actor != "accord":
                self._check_actor(withdraw.actor)
            self._check_withdrawable(withdraw)
        except ValueError as exc:
            workflow.logger.warning("withdrawal of %s ignored: %s", self.state.id, exc)
            return
        self._apply_withdraw(withdraw)

    @workflow.signal
    def amendment_decided(self, decided: AmendmentDecided | None) -> None:
        """The partnership's approval of the amendment this resolution proposed has ended."""
        if not isinstance(decided, AmendmentDecided) or self.state.status != EscalationStatus.awaiting_amendment:
            workflow.logger.warning("amendment_decided for %s ignored: it is %s", self.state.id, self.state.status.value)
            return
        self.state.amendment_outcome = decided.outcome
        if decided.applied:
            self._close(EscalationStatus.resolved, self.state.resolved_by or "accord", self.state.resolved_channel)
            return
        # Not approved: the resolution depended on it, so the escalation is back in CARE.
        self.state.status = EscalationStatus.acknowledged
        self.state.resolution = ""
        self.state.proposed_amendment = None
        self._publish()

    @workflow.signal
    async def email_delayed(self, delay: EmailDelay | None) -> None:
        """The email activity says an email of this escalation is still failing past the alert
        time (sent once per send key): recorded, and ops told (rules 1) unless it is theirs."""
        delay = mailing.valid_delay(delay, self.state.chain_id)
        if delay is None or delay.send_key not in self._sending or delay.send_key in self.state.email_delays:
            workflow.logger.warning("email_delayed ignored: not an email of this run in flight, or known")
            return
        first = not self.state.email_delays
        self.state.email_delays[delay.send_key] = delay
        if self.state.rules_version < 1 or not first or delay.recipient.startswith("ops"):
            return
        person = self.people.get(delay.recipient)
        who = f"{person.name} ({person.id})" if person else delay.recipient
        subject, context = mailing.delay_notice(delay, who, self.definition.name)
        context["body"] += f" It was about escalation {self.state.id}."
        await asyncio.gather(*(
            self._email(f"email-delayed/{mailing.purpose_of(delay.send_key)}/{delay.recipient}",
                        Recipient(id=f"ops-{i}", name=o.name, email=o.email), subject, context)
            for i, o in enumerate(self.definition.ops)
        ))

    @workflow.signal
    async def email_event(self, event: EmailEvent | None) -> None:
        """Delivery news from the mail webhook (the emails carry this workflow's id)."""
        parts = event.send_key.split("/") if isinstance(event, EmailEvent) else []
        if len(parts) < 2:
            # Not one of this workflow's send keys (or no event at all): a signal cannot be
            # refused, and raising here would fail every workflow task from now on.
            workflow.logger.warning("email_event ignored: %r", event)
            return
        if event.event in ("bounce", "dropped", "blocked"):
            await self._unreachable(parts[-1], f"{event.event}: {event.reason or 'no reason given'}", parts[-2])


ESCALATION_WORKFLOWS = (EscalationWorkflow,)
