"""The activities the workflows call, declared by name and types only: call sites pass these
functions (``workflow.execute_activity(render_mou, request, ...)``), so the activity's name and
its result type come from one declaration instead of a string and a ``result_type`` at each call.

Declarations, not the activities themselves: the real ones (``activities/``) import the mail
backends, the templates, the document store and the report writer, none of which belongs in
the workflow sandbox. Only the name and the types matter to a workflow (the command it
schedules is the name and the encoded argument); tests/workflows/test_workflow_modules.py checks that
each declaration matches the activity the worker registers under its name.
"""

from __future__ import annotations

from temporalio import activity, workflow

with workflow.unsafe.imports_passed_through():
    from accord.models import (
        ArchiveRequest,
        EmailReceipt,
        EmailRequest,
        RenderMouRequest,
        StoredDocument,
        StoreDocumentRequest,
    )
    from accord.ops.stuck import StuckPartnership, WatchdogInput


def _declared(name: str) -> NotImplementedError:
    return NotImplementedError(f"{name} is a declaration for workflow code; the worker runs the activity in activities/")


@activity.defn(name="send_email")
async def send_email(request: EmailRequest) -> EmailReceipt:
    """Render, mint the action link, send once per send key (activities/email.py)."""
    raise _declared("send_email")


@activity.defn(name="render_mou")
async def render_mou(request: RenderMouRequest) -> StoredDocument:
    """Render an MOU version from the definition and store it (activities/documents.py)."""
    raise _declared("render_mou")


@activity.defn(name="store_document")
async def store_document(request: StoreDocumentRequest) -> StoredDocument:
    """Store an uploaded MOU version (activities/documents.py)."""
    raise _declared("store_document")


@activity.defn(name="archive_partnership")
async def archive_partnership(request: ArchiveRequest) -> StoredDocument:
    """Store the audit export of a closed partnership (activities/documents.py)."""
    raise _declared("archive_partnership")


@activity.defn(name="find_stuck_partnerships")
async def find_stuck_partnerships(input: WatchdogInput) -> list[StuckPartnership]:
    """Which partnerships on a task queue are stuck (activities/watchdog.py)."""
    raise _declared("find_stuck_partnerships")
