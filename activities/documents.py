"""Document activities: render the MOU from its template, store uploaded revisions, archive a closed partnership."""

from __future__ import annotations

from pathlib import Path

from temporalio import activity
from temporalio.exceptions import ApplicationError

from accord.documents.mou import TemplateMissing, render_markdown
from accord.documents.store import DocumentStore
from accord.models import ArchiveRequest, RenderMouRequest, StoreDocumentRequest, StoredDocument
from accord.reports.audit import audit_export, to_json


class DocumentActivities:
    def __init__(self, store: DocumentStore, template_dirs: list[Path] | None = None):
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
        return StoredDocument(hash=self.store.put(text))

    @activity.defn(name="store_document")
    async def store_document(self, request: StoreDocumentRequest) -> StoredDocument:
        return StoredDocument(hash=self.store.put(request.markdown))

    @activity.defn(name="archive_partnership")
    async def archive_partnership(self, request: ArchiveRequest) -> StoredDocument:
        """The audit export at closure, stored content-addressed (storing it twice is harmless)."""
        return StoredDocument(hash=self.store.put(to_json(audit_export(request.definition, request.state, request.workflow_id))))
