"""The MOU stage: draft, signature rounds, revisions.

The first draft is rendered from the definition (an activity); the signatories sign it
under the MOU's approval rules. Changes requested end the round: ops upload or regenerate a
revision (the ``revise_mou`` update), which starts a new round on the new version, until it is
signed, the rounds run out, or it is rejected.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Literal

from temporalio import workflow

from workflows.partnership.approvals import Approvals
from workflows.partnership.context import PartnershipContext
from workflows.partnership.record import Record
from workflows.toolkit.activities import render_mou, store_document
from workflows.toolkit.notifier import Notifier

with workflow.unsafe.imports_passed_through():
    from accord.logic.describe import acted
    from accord.models import (
        MOU,
        ApprovalOutcome,
        DecisionKind,
        DocumentVersion,
        EventKind,
        MouRevision,
        PreviousVersion,
        RenderMouRequest,
        Stage,
        StoreDocumentRequest,
        UpdateResult,
    )


class MouStage:
    def __init__(self, ctx: PartnershipContext, record: Record, approvals: Approvals, notifier: Notifier) -> None:
        self.ctx = ctx
        self.record = record
        self.approvals = approvals
        self.notifier = notifier

    async def run(self) -> None:
        mou = self.ctx.definition.mou
        assert mou is not None
        state = self.ctx.state
        if not state.mou.versions:
            await self.add_version("generated", "accord", "First draft")
        while True:
            outcome = await self.approvals.run(
                MOU, "MOU signature", mou, mou.signatories, Stage.mou, state.mou.current
            )
            current = state.mou.current
            assert current is not None  # the first draft is made before the first round
            if outcome == ApprovalOutcome.approved:
                state.mou.signed_at = workflow.now()
                self.record.enter(Stage.launch, f"MOU version {current.version} signed by every required signatory")
                return
            if outcome != ApprovalOutcome.changes_requested:
                self.record.enter(Stage.terminated, f"MOU not signed: the signature round ended {outcome.value}")
                return
            approval = state.approvals[MOU]
            if approval.round >= mou.max_rounds:
                self.record.enter(Stage.terminated, f"MOU not agreed after {approval.round} review rounds")
                return
            state.mou.awaiting_revision = True
            comments = [f"{acted(self.ctx.definition, d.actor, d.sent_by)}: {d.comment}"
                        for d in approval.decisions_in_round() if d.comment]
            self.record.set_detail(f"Changes requested on MOU version {current.version}: waiting for ops to revise")
            await self.notifier.email_ops(
                f"mou-changes/{approval.round}",
                f"Changes requested on the MOU: {self.ctx.definition.name}",
                {
                    "heading": "The MOU needs a revision",
                    "body": "Signatories asked for changes: " + " | ".join(comments)
                    + f". Upload a revised version (accord mou upload {workflow.info().workflow_id} FILE) "
                    f"or regenerate it from the definition (accord mou regenerate {workflow.info().workflow_id}).",
                    "consequence": f"The MOU stays unsigned. Round {approval.round} of {mou.max_rounds}.",
                },
            )
            await workflow.wait_condition(lambda: not state.mou.awaiting_revision)

    async def add_version(self, source: Literal["generated", "uploaded"], author: str, note: str, markdown: str | None = None,
                          sent_by: str | None = None) -> DocumentVersion:
        """A new version: rendered or stored by an activity, which also sums up what changed since
        the previous one; it answers the requests for changes of the round that asked for it."""
        state = self.ctx.state
        version = len(state.mou.versions) + 1
        current = state.mou.current
        # Rules 2: a later version says what changed since the previous one and which changes were asked for.
        shows = state.rules_version >= 2
        previous = PreviousVersion(version=current.version, hash=current.hash) if current and shows else None
        if markdown is None:
            stored = await workflow.execute_activity(
                render_mou,
                RenderMouRequest(workflow_id=workflow.info().workflow_id, definition=self.ctx.definition, version=version,
                                 note=note, previous=previous),
                start_to_close_timeout=timedelta(minutes=1),
                summary=f"render MOU version {version}",
            )
        else:
            stored = await workflow.execute_activity(
                store_document,
                StoreDocumentRequest(markdown=markdown, previous=previous),
                start_to_close_timeout=timedelta(minutes=1),
                summary=f"store uploaded MOU version {version}",
            )
        approval = state.approvals.get(MOU)
        asked = [d for d in approval.decisions_in_round()
                 if d.decision == DecisionKind.request_changes] if approval and shows else []
        document = DocumentVersion(
            version=version, hash=stored.hash, created_at=workflow.now(), source=source, author=author, note=note,
            changes=stored.changes, requested_changes=asked,
        )
        state.mou.versions.append(document)
        self.record.log(EventKind.mou_version, actor=author, detail=f"MOU version {version} ({source}) sha256 {stored.hash[:12]}…",
                        data={"version": version, "hash": stored.hash}, sent_by=sent_by)
        return document

    async def revise(self, revision: MouRevision) -> UpdateResult:
        """The ``revise_mou`` update (validated): a new version, and a new signature round on it."""
        source: Literal["generated", "uploaded"] = "uploaded" if revision.markdown is not None else "generated"
        document = await self.add_version(source, revision.actor, revision.note or f"Revision ({source})", revision.markdown,
                                          revision.sent_by)
        approval = self.ctx.state.approvals.get(MOU)
        if approval is not None:
            assert self.ctx.definition.mou is not None
            self.approvals.start_round(approval, self.ctx.definition.mou.deadline, document)
        self.ctx.state.mou.awaiting_revision = False
        self.record.publish()
        return UpdateResult(message=f"MOU version {document.version} recorded; a new signature round starts.")
