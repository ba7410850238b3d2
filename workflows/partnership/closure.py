"""Closing a partnership: every open task waived, the stage closed, the audit export archived.

A partnership closes by the ``close`` update (ops or the approvers of amendments, once it
has launched) or at the end of a term that was not renewed. Its run then withdraws the
escalations still open and archives the audit export of the whole partnership, stored
content-addressed (an activity), before it ends.
"""

from __future__ import annotations

from datetime import timedelta

from temporalio import workflow

from workflows.partnership.context import PartnershipContext
from workflows.partnership.escalations import Escalations
from workflows.partnership.record import Record
from workflows.toolkit.activities import archive_partnership

with workflow.unsafe.imports_passed_through():
    from accord.models import (
        ArchiveRequest,
        CloseRequest,
        EventKind,
        Stage,
        TaskStatus,
        UpdateResult,
    )


class Closure:
    def __init__(self, ctx: PartnershipContext, record: Record, escalations: Escalations) -> None:
        self.ctx = ctx
        self.record = record
        self.escalations = escalations

    def close(self, actor: str, reason: str, sent_by: str | None = None) -> None:
        state = self.ctx.state
        state.closed_at = workflow.now()
        state.closure_reason = reason
        for task in state.open_tasks():
            task.status = TaskStatus.waived
        self.record.enter(Stage.closed, reason)
        self.record.log(EventKind.closed, actor=actor, detail=reason, sent_by=sent_by)

    def close_by(self, request: CloseRequest) -> UpdateResult:
        """The ``close`` update (validated)."""
        self.close(request.actor, request.reason.strip(), request.sent_by)
        return UpdateResult(message="The partnership is closed; its audit export is being archived.")

    async def archive(self) -> None:
        """Closure archives: the audit export of the whole partnership, stored content-addressed."""
        await self.escalations.withdraw_open("The partnership is closed.")
        stored = await workflow.execute_activity(
            archive_partnership,
            ArchiveRequest(workflow_id=workflow.info().workflow_id, definition=self.ctx.definition, state=self.ctx.state),
            start_to_close_timeout=timedelta(minutes=2),
            summary="archive the audit export",
        )
        self.ctx.state.archive_hash = stored.hash
        self.record.log(EventKind.archived, detail=f"Audit export stored, sha256 {stored.hash[:12]}…")
        self.record.publish()
