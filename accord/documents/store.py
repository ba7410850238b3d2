"""Content-addressed document storage: a version is kept under the SHA-256 of its text.

The workflow records only version numbers and hashes; the text lives here, so history
stays small and any holder of a hash can check the document was not altered.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path


def content_hash(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


class DocumentStore:
    def __init__(self, directory: Path):
        self.directory = directory

    def _path(self, digest: str) -> Path:
        if len(digest) != 64 or any(ch not in "0123456789abcdef" for ch in digest):
            raise KeyError(digest)
        return self.directory / digest[:2] / f"{digest}.md"

    def put(self, text: str) -> str:
        digest = content_hash(text)
        path = self._path(digest)
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            temporary = path.with_suffix(".tmp")
            temporary.write_text(text, encoding="utf-8")
            os.replace(temporary, path)
        return digest

    def get(self, digest: str) -> str:
        path = self._path(digest)
        if not path.exists():
            raise KeyError(digest)
        text = path.read_text(encoding="utf-8")
        if content_hash(text) != digest:
            raise ValueError(f"document {digest} is corrupted: its content no longer matches its hash")
        return text
