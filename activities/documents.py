"""Document activities: render the MOU from its template, store uploaded revisions, archive a closed partnership.

Documents go to Accord's storage (accord/storage/), content-addressed: every web instance
on every host reads the version a worker stored, and the workflow keeps only the hash. A new
version that names the one it follows comes back with what changed (``accord.logic.document_diff``),
which the workflow keeps for its emails and pages."""

from __future__ import annotations

from pathlib import Path

from temporalio import activity
from temporalio.exceptions import ApplicationError

from accord.documents.mou import TemplateMissing, render_markdown
from accord.logic import document_diff
from accord.models import (
    ArchiveRequest,
    DocumentChanges,
    PreviousVersion,
    RenderMouRequest,
    StoredDocument,
    StoreDocumentRequest,
)
from accord.reports.audit import audit_export, to_json
from accord.storage import Storage


class DocumentActivities:
    def __init__(self, store: Storage, template_dirs: list[Path] | None = None):
        self.store = store
        self.template_dirs = template_dirs or []

    @activity.defn(name="render_mou")
    async def render_mou(self, request: RenderMouRequest) -> StoredDocument:
        try:
            text = render_markdown(
                request.definition,
                request.version,
                activity.info().current_attempt_scheduled_time,
                request.note,
                self.template_dirs,
            )
        except TemplateMissing as exc:
            # Retrying will not make a missing template appear: tell the workflow at once.
            raise ApplicationError(str(exc), type="TemplateMissing", non_retryable=True) from None
        return StoredDocument(hash=await self.store.put_document(text), changes=await self._changes(request.previous, text))

    @activity.defn(name="store_document")
    async def store_document(self, request: StoreDocumentRequest) -> StoredDocument:
        return StoredDocument(hash=await self.store.put_document(request.markdown),
                              changes=await self._changes(request.previous, request.markdown))

    async def _changes(self, previous: PreviousVersion | None, text: str) -> DocumentChanges | None:
        if previous is None:
            return None
        try:
            before = await self.store.get_document(previous.hash)
        except (KeyError, ValueError) as exc:
            # The summary is a courtesy: without the earlier text the version is stored all the same.
            activity.logger.warning("MOU version %d (%s) cannot be read (%s): no changes shown",
                                    previous.version, previous.hash[:12], exc)
            return None
        return document_diff.summarize(before, text, previous.version)

    @activity.defn(name="archive_partnership")
    async def archive_partnership(self, request: ArchiveRequest) -> StoredDocument:
        """The audit export at closure, stored content-addressed (storing it twice is harmless)."""
        export = to_json(audit_export(request.definition, request.state, request.workflow_id))
        return StoredDocument(hash=await self.store.put_document(export))
