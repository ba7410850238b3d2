"""Documents (MOU versions) as the pages show them: loaded by hash, verified, as HTML.

A document that cannot be loaded, or whose text no longer matches its hash, is never
shown as if it were fine: the page explains the problem instead, so nobody is asked to
sign something they cannot read.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass

from markupsafe import Markup

from accord.documents.mou import to_html
from accord.models import DocumentVersion, PartnershipState
from accord.storage import Storage
from accord.web.problems import Problem

log = logging.getLogger("accord.web")

# markdown-it writes bare heading tags and escapes raw HTML in the source, so these are
# exactly the document's own headings.
_HEADING = re.compile(r"<(/?)h([1-6])>")


@dataclass(frozen=True)
class ShownDocument:
    version: int | None
    hash: str
    html: Markup
    meta: DocumentVersion | None = None


def as_html(markdown: str, demote: int = 2) -> Markup:
    """The document's HTML, its headings moved ``demote`` levels down to sit under the page's own."""
    html = _HEADING.sub(lambda m: f"<{m.group(1)}h{min(int(m.group(2)) + demote, 6)}>", to_html(markdown))
    return Markup(html)  # safe: markdown-it escapes raw HTML in the source (html=False)


async def load(store: Storage, version: int | None, digest: str, what: str = "the MOU") -> str:
    """The verified text of a document, or a Problem page that says what is wrong."""
    named = f"version {version} of {what}" if version is not None else what
    try:
        return await store.get_document(digest)
    except KeyError:  # DocumentMissing
        log.error("document %s (%s) is missing from the store", digest, named)
        raise Problem(
            500,
            "The document cannot be shown",
            f"Accord cannot find the text of {named} (SHA-256 {digest}). Nothing can be signed until it is "
            "restored: please tell the partnership's ops contact.",
        ) from None
    except (ValueError, OSError) as exc:  # DocumentCorrupted is a ValueError
        log.error("document %s (%s) cannot be read: %s", digest, named, type(exc).__name__)
        raise Problem(
            500,
            "The document cannot be shown",
            f"The stored text of {named} no longer matches its SHA-256 hash {digest}: it was damaged or altered. "
            "Nothing can be signed until it is restored: please tell the partnership's ops contact.",
        ) from None


def mou_version(state: PartnershipState, version: int) -> DocumentVersion | None:
    return next((v for v in state.mou.versions if v.version == version), None)


async def show(store: Storage, state: PartnershipState, version: int | None, digest: str,
               what: str = "the MOU") -> ShownDocument:
    meta = mou_version(state, version) if version is not None else None
    if meta is not None and meta.hash != digest:
        raise Problem(500, "The document cannot be shown",
                      f"Accord's records disagree about the hash of version {version}; nothing can be signed until "
                      "this is resolved: please tell the partnership's ops contact.")
    text = await load(store, version, digest, what)
    return ShownDocument(version=version, hash=digest, html=as_html(text), meta=meta)
