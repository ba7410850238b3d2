"""The document activities' requests and answers (render and store MOU versions, archive at closure)."""

from __future__ import annotations

from accord.models.common import Payload
from accord.models.partnership import PartnershipState
from definitions.schema import PartnershipDefinition


class RenderMouRequest(Payload):
    workflow_id: str
    definition: PartnershipDefinition
    version: int
    note: str = ""


class ArchiveRequest(Payload):
    workflow_id: str
    definition: PartnershipDefinition
    state: PartnershipState


class StoreDocumentRequest(Payload):
    markdown: str


class StoredDocument(Payload):
    hash: str
