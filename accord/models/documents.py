"""The document activities' requests and answers (render and store MOU versions, archive at closure)."""

from __future__ import annotations

from pydantic import Field

from accord.models.common import Payload
from accord.models.evidence import DocumentChanges
from accord.models.partnership import PartnershipState
from definitions.schema import PartnershipDefinition


class PreviousVersion(Payload):
    version: int
    hash: str


class RenderMouRequest(Payload):
    workflow_id: str
    definition: PartnershipDefinition
    version: int
    note: str = ""
    previous: PreviousVersion | None = Field(None, description="The version it follows: its changes are summed up.")


class ArchiveRequest(Payload):
    workflow_id: str
    definition: PartnershipDefinition
    state: PartnershipState


class StoreDocumentRequest(Payload):
    markdown: str
    previous: PreviousVersion | None = Field(None, description="The version it follows: its changes are summed up.")


class StoredDocument(Payload):
    hash: str
    changes: DocumentChanges | None = Field(None, description="Against the previous version, when one was named.")
