"""Workflow versions: every patch id, what it changed, and when it can go.

Running workflows replay their history against the code a worker runs now, so any change
to what a workflow does is made behind ``workflow.patched(id)``: a run whose history was
written without the patch takes the old branch, a run that reaches the code afresh takes
the new one and records a marker. A patch is retired in three steps (README "Changing
workflow code"): ``patched`` -> ``workflow.deprecate_patch`` once no open run can still take
the old branch -> removal once no saved history needs the old branch to replay.

**The rules version.** Changes to the *rules* people act under (who may approve, what a
validator refuses) cannot each be a ``patched`` call: update validators must not call
``patched()`` (it would add to history when nothing else does), and the same rule is
read in several places. So the rules a run follows are a number kept in its state
(``PartnershipState.rules_version``, ``EscalationState.rules_version``; 0 = the rules before
v0.5, which is what a stored state without the field decodes to). It is set once per
run, in the ``@workflow.init`` constructor, by :func:`rules_version`: each rules patch
that the run takes raises the number. So

* a brand-new run, and a run that continued as new, take the newest rules (a new run has
  no history to disagree with);
* a run already under way when the worker was upgraded replays without the markers and
  keeps its old number until its next continue-as-new;
* validators and handlers read ``state.rules_version`` only: validators run before
  anything is written, handlers recheck them under the lock (``workflows.toolkit.updates.checked``) over the same
  state, so a replay decides exactly as the first run did.

An escalation raised by a partnership on schedule 1 pages each contact in their working hours
(``workflows/escalation/paging.py``): the parent passes its schedule version in
``EscalationInput.schedule_version`` and the child takes it through
:func:`escalation_schedule_version` (patch ``escalation-working-hours``) once, when it is
raised, and keeps it in ``EscalationState.schedule_version`` through continue-as-new; an
escalation already running replays without the marker and keeps paging at once.

An escalation runs the rules of the partnership that raised it: the parent passes its
number in ``EscalationInput.rules_version`` and the child takes it through the same
patches (an escalation raised by an older worker gets 0).

**The schedule version.** How dates are computed (review occurrences, deadlines, when a
reminder goes out) is a number kept in the partnership's state too
(``PartnershipState.schedule_version``; 0 = the UTC dates before v0.7), but unlike the rules
version it is NOT raised when a run continues as new: a new run takes every patched
branch, and a partnership whose reviews and deadlines were computed one way would then
see them move (a weekly 14:37 UTC review turning into 10:00 London). So
:func:`schedule_version` is called once per run, in ``@workflow.init``, and only a brand-new
partnership (no state carried) asks the patches; a carried state keeps its number for the
partnership's whole life. A run already under way when the worker was upgraded replays
without the marker and so gets 0 as well. Where it applies: ``workflows/partnership/scheduling.py``.

A new rule: give it the next number, add ``PATCH_RULES_<n>`` and a line in ``RULES`` and
``PATCHES``, write ``if state.rules_version >= n`` where it applies, and save a history
that exercises it (tests/replay/test_corpus.py checks that every patch id is in one).
"""

from __future__ import annotations

from dataclasses import dataclass

from temporalio import workflow

# v0.1 waited in the MOU stage; runs that reached it under v0.1 keep waiting, new ones
# draft and sign the MOU.
PATCH_MOU_STAGE = "mou-stage"
# v0.1 looked at decisions only after the first request emails were sent, so a delegation
# arriving meanwhile went unnoticed; histories recorded that way replay the old order.
PATCH_FOLLOW_EARLY_DECISIONS = "follow-early-decisions"
# v0.1 emailed the first ladder level from the partnership; escalations now run as children.
PATCH_ESCALATION_CHILD = "escalation-child"
# v0.2 waited at launch; partnerships that got there under v0.2 keep waiting, new ones
# launch, run their reviews and renewals, continue as new, and close.
PATCH_OPERATE = "launch-and-reviews"
# v0.2 closed a resolution at once and kept its amendment as text; now the amendment is an
# amended definition that goes through the partnership's approval before the escalation closes.
PATCH_AMENDMENT_APPROVAL = "amendment-approval"
# v0.3 sent ops' "unreachable" notice from whatever found the failure, so a chaser cancelled
# at the end of its stage cancelled the notice too; notices now outlive their cause, and the
# workflow ends only once every tracked email is out.
PATCH_OPS_NOTICES = "ops-notices-outlive-their-cause"
# v0.3 upserted every search attribute on every state change; now only those that changed.
PATCH_CHANGED_ATTRIBUTES = "upsert-changed-attributes-only"
# Rules version 1 (v0.5): see RULES.
PATCH_RULES_1 = "rules-1"
# Rules version 2 (v0.7): see RULES.
PATCH_RULES_2 = "rules-2"
# v0.6 named a new run chain (send keys, escalation child ids) after its run id, which a reset
# replaces: a reset run sent every email after its reset point again. Now after the chain's
# first run id, which a reset keeps (toolkit/chain.py).
PATCH_CHAIN_SURVIVES_RESET = "chain-id-survives-reset"
# v0.6 failed when a reset run started an escalation child the original run had started and
# that still runs ("already started"); now the run adopts it (partnership/escalations.py).
PATCH_ADOPT_ESCALATION = "adopt-running-escalation-child"
# Schedule version 1 (v0.7): see SCHEDULES.
PATCH_SCHEDULE_1 = "schedule-1"
# v0.7 (rules 2) stopped watching escalations' causes the moment the stage turned final, so
# a cause removed by what ended the run (the decision that declined it, closing's waived
# tasks) was never told: the escalation went on climbing. Now the run tells them first.
PATCH_CLEARING_AT_THE_END = "clearing-fix-at-the-end"
# v0.7 ended an escalation's run as soon as it saw itself closed, even when it closed while its
# last report (a climb, say) was in flight: the partnership kept it open at the old level for
# good. Now the run reports once more before it ends (a no-op when nothing changed).
# This one and the next are asked in the escalation's @workflow.init, once per run: a marker
# recorded in the workflow task that closes the escalation, after its report's signal, made
# the time-skipping test server refuse that task's completion ("invalid history builder state").
PATCH_REPORT_THE_END = "escalation-reports-its-end"
# v0.7 keyed the "can it close?" email by the level only: asked again at the same level (its
# cause came back, then went again) the level was recorded as asked, with a new deadline,
# but the email was the one already sent, so nobody heard. Now each question has its key.
PATCH_ASK_EACH_TIME = "confirm-close-asks-each-time"
# v0.7 left the escalations of a partnership declined at its go/no-go, or whose MOU failed, open:
# they climbed on to ops for a partnership that no longer ran. Now the run withdraws them as it
# ends (closing already did).
PATCH_WITHDRAW_WHEN_DECLINED = "withdraw-escalations-when-declined"
# v0.7 escalations emailed every contact at once, at any hour; raised by a partnership on schedule 1
# they now page each contact in their working hours (see escalation_schedule_version).
PATCH_ESCALATION_HOURS = "escalation-working-hours"


@dataclass(frozen=True)
class Patch:
    id: str
    since: str  # the release that added it
    changed: str
    retire: str  # when deprecate_patch, then removal, become safe


PATCHES: tuple[Patch, ...] = (
    Patch(PATCH_MOU_STAGE, "v0.2", "the MOU stage runs (v0.1 waited there)",
          "once no open partnership reached the MOU stage under v0.1"),
    Patch(PATCH_FOLLOW_EARLY_DECISIONS, "v0.2", "decisions arriving while requests go out are followed up",
          "once no open approval round was opened under v0.1"),
    Patch(PATCH_ESCALATION_CHILD, "v0.2", "escalations run as child workflows",
          "once no open run raises escalations the v0.1 way (every run started or continued as new since v0.2)"),
    Patch(PATCH_OPERATE, "v0.3", "launch, reviews, renewal, continue-as-new and closure run (v0.2 waited at launch)",
          "once no open partnership reached launch under v0.2"),
    Patch(PATCH_AMENDMENT_APPROVAL, "v0.3", "a resolution's amendment goes through approval before it closes",
          "once no open escalation was resolved under v0.2"),
    Patch(PATCH_OPS_NOTICES, "v0.4", "ops notices outlive the chaser that found the failure",
          "once every open run started or continued as new since v0.4"),
    Patch(PATCH_CHANGED_ATTRIBUTES, "v0.4", "only changed search attributes are upserted",
          "once every open run started or continued as new since v0.4"),
    Patch(PATCH_RULES_1, "v0.5", "rules version 1 (RULES)",
          "once every open partnership and escalation started or continued as new since v0.5"),
    Patch(PATCH_RULES_2, "v0.7", "rules version 2 (RULES)",
          "once every open partnership and escalation started or continued as new since v0.7"),
    Patch(PATCH_CHAIN_SURVIVES_RESET, "v0.7", "a new chain is named after its first run id, which a reset keeps",
          "once every open partnership and escalation started since v0.7 (the id is kept in state after that)"),
    Patch(PATCH_ADOPT_ESCALATION, "v0.7", "a reset run adopts the escalation child it finds running",
          "once no open run can be reset to before an escalation start made under v0.6"),
    Patch(PATCH_SCHEDULE_1, "v0.7", "schedule version 1 (SCHEDULES)",
          "once no open partnership started before v0.7 (continue-as-new does not raise the schedule version)"),
    Patch(PATCH_CLEARING_AT_THE_END, "v0.7", "a run that ends tells its escalations a cause its last step removed",
          "once every open partnership started or continued as new on a worker with it"),
    Patch(PATCH_REPORT_THE_END, "v0.7", "an escalation that closed while a report was in flight reports its end",
          "once every open escalation started or continued as new on a worker with it"),
    Patch(PATCH_ASK_EACH_TIME, "v0.7", "each 'can it close?' question is emailed (a key per question)",
          "once every open escalation started or continued as new on a worker with it"),
    Patch(PATCH_WITHDRAW_WHEN_DECLINED, "v0.7", "a declined or terminated partnership withdraws its open escalations",
          "once every open partnership started or continued as new on a worker with it"),
    Patch(PATCH_ESCALATION_HOURS, "v0.7", "an escalation of a schedule-1 partnership pages in working hours",
          "once no open escalation was raised before it (continue-as-new keeps the number in the state)"),
)

# Each rules version, the patch that brings it, and what it changed. Read as
# ``state.rules_version >= n`` where a rule applies.
RULES: tuple[tuple[int, str, str], ...] = (
    (1, PATCH_RULES_1,
     ("an amendment that changes a party's people or addresses needs that party's approval; a party's CARE "
      "perspective comes from its people or ops; a decision without a document cannot request changes; the same "
      "goal statement posted again is not a revision; ops hear of an email still failing after mail_alert_after")),
    (2, PATCH_RULES_2,
     ("the status line and health are derived from the state on every change (declined partnerships are "
      "'declined', not 'done'; the escalation level is the one number of accord.logic.ladder.shown_level); an "
      "automatic escalation whose cause is gone closes (unacknowledged) or asks its level to confirm "
      "(acknowledged), and one raised again within its trigger's quiet period pages nobody until the period "
      "ends; notices that repeat (revised goal statements, unreachable people) go out as one digest per "
      "recipient after a quiet period; 'ops:<name>' acts wherever 'ops' does, and who sent an action for "
      "someone else (sent_by) is checked")),
)
LATEST = RULES[-1][0]


def rules_version(carried: int, offered: int = LATEST) -> int:
    """The rules version of this run: ``carried`` (from the state it continues, 0 for a new
    partnership), raised by every rules patch up to ``offered`` that this run takes.

    Call it once per run, from ``@workflow.init``: ``patched()`` records a marker in a new
    run, and in a run replayed from a history written without the marker it answers False
    (and keeps answering False for the whole run)."""
    version = carried
    for number, patch, _ in RULES:
        if number > offered:
            break
        if workflow.patched(patch):
            version = max(version, number)
    return version


# Each schedule version, the patch that brings it, and what it changed. Read as
# ``state.schedule_version >= n`` (in workflows/partnership/scheduling.py only).
SCHEDULES: tuple[tuple[int, str, str], ...] = (
    (1, PATCH_SCHEDULE_1,
     ("business days judged in each party's time zone; a task due in whole days is due at the end of its owner's "
      "working day in their zone; reminders and overdue notices within the owner's working hours (a reminder moved "
      "earlier, never past its deadline); escalations raised page each contact in their working hours (a critical "
      "one at once), the level's time to answer counted from its first page (patch escalation-working-hours)")),
)
LATEST_SCHEDULE = SCHEDULES[-1][0]


def schedule_version(carried: int | None, offered: int = LATEST_SCHEDULE) -> int:
    """The schedule version of a partnership: ``carried`` (its state's number) when the run
    continues one, else the newest one up to ``offered`` whose patch this run takes.

    Call it once per run, from ``@workflow.init``: a carried number is never raised, so a
    running partnership keeps the dates it computed through every continue-as-new."""
    if carried is not None:
        return carried
    version = 0
    for number, patch, _ in SCHEDULES:
        if number > offered:
            break
        if workflow.patched(patch):
            version = number
    return version


def escalation_schedule_version(offered: int) -> int:
    """The schedule version of a NEW escalation: the partnership's (``offered``) if this run takes
    :data:`PATCH_ESCALATION_HOURS`, else 0 (paged at once, as before). Call it once, from
    ``@workflow.init``, only for a new escalation: a continued one keeps its state's number."""
    offered = min(offered, LATEST_SCHEDULE)
    if offered >= 1 and workflow.patched(PATCH_ESCALATION_HOURS):
        return offered
    return 0
