"""The watchdog: one small workflow per task queue that tells ops when a partnership is stuck.

    workflow id: accord-watchdog-<task queue>   (started once, idempotently, by `accord setup`
                                                 and by every `accord worker`)

Every ``interval`` (a durable timer) it asks the ``find_stuck_partnerships`` activity which
running partnerships on its task queue are stuck (accord/ops/stuck.py: a workflow task failing
again and again, or an activity failing past ``stuck_activity_after``), and emails each new
episode to the partnership's ops and the configured ``ops_emails``: what is wrong, since when,
and what Accord did. The email goes through the ordinary ``send_email`` activity with a send key
built from the workflow, run and episode (its first failure), so it is sent exactly once per
stuck episode, however many workers run this workflow, restart it or continue it as new.

It never touches the partnership: resets are for `accord doctor --fix` and `accord recover`.
"""

from __future__ import annotations

import hashlib
from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy

from workflows.toolkit import mailing
from workflows.toolkit.activities import find_stuck_partnerships

with workflow.unsafe.imports_passed_through():
    from accord.logic.describe import when
    from accord.models import Recipient
    from accord.ops.stuck import Kind, StuckPartnership, WatchdogInput

WATCHDOG_PREFIX = "accord-watchdog-"
# Continue as new well before Temporal's suggestion; each round writes about ten events.
HISTORY_LIMIT = 2_000
# Episodes remembered across continue-as-new (the send ledger dedupes past this anyway).
MAX_NOTIFIED = 1_000


def watchdog_id(task_queue: str) -> str:
    return f"{WATCHDOG_PREFIX}{task_queue}"


@workflow.defn(name="AccordWatchdog")
class WatchdogWorkflow:
    @workflow.init
    def __init__(self, input: WatchdogInput) -> None:
        self.input = input
        self.notified: list[str] = list(input.notified)
        self.current: list[StuckPartnership] = []

    @workflow.run
    async def run(self, input: WatchdogInput) -> None:
        while True:
            self.current = await workflow.execute_activity(
                find_stuck_partnerships, input,
                start_to_close_timeout=timedelta(minutes=5),
                retry_policy=RetryPolicy(maximum_interval=timedelta(minutes=1)),
                summary="find stuck partnerships",
            )
            for problem in self.current:
                key = f"{problem.workflow_id}/{problem.run_id}/{problem.episode}"
                if key not in self.notified:
                    await self._tell_ops(problem)
                    self.notified = [*self.notified, key][-MAX_NOTIFIED:]
            info = workflow.info()
            if info.is_continue_as_new_suggested() or info.get_current_history_length() > HISTORY_LIMIT:
                workflow.continue_as_new(input.model_copy(update={"notified": self.notified}))
            await workflow.sleep(timedelta(seconds=input.interval_seconds), summary="next look")

    @workflow.query
    def stuck(self) -> list[StuckPartnership]:
        """What the last look found."""
        return self.current

    async def _tell_ops(self, p: StuckPartnership) -> None:
        recipients = {email: name for name, email in p.ops}
        recipients.update({email: "Ops" for email in self.input.ops_emails if email not in recipients})
        if not recipients:
            workflow.logger.warning("stuck partnership %s (%s) and nobody to tell: set ops_emails", p.workflow_id, p.kind)
        what = (f"activity {p.activity} has been failing" if p.kind == Kind.activity
                else "its workflow task has been failing")
        did = ("Accord changed nothing. `accord doctor --fix` (with a person's confirmation) resets it to its last "
               "good workflow task and re-applies later updates and signals; where `accord recover` runs, it does "
               "this by itself when every safety condition holds."
               if p.kind == Kind.sdk_1591 else
               "Accord changed nothing, and will not reset it: this is not a failure a reset cures.")
        for email, name in sorted(recipients.items()):
            receipt = await mailing.send(
                chain_id="watchdog",  # stable across runs: one key per episode for good
                purpose=f"stuck/{p.workflow_id}/{p.run_id}/{p.episode}",
                to=Recipient(id="ops-" + hashlib.sha256(email.encode()).hexdigest()[:10], name=name, email=email),
                template="notice",
                subject=f"Stuck: {p.workflow_id} ({p.kind.value})",
                context={
                    "heading": f"{p.workflow_id} is stuck",
                    "body": (f"Since {when(p.since)} {what} ({p.attempts} attempts). "
                             f"Last failure: {p.message[:500]} — {p.kind.explanation}"),
                    "consequence": f"{did} Details: accord doctor {p.workflow_id}",
                },
                partnership=p.workflow_id,
            )
            if receipt.status == "failed":
                workflow.logger.warning("stuck notice to %s not delivered: %s", email, receipt.error)
