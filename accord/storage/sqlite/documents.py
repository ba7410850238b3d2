"""Documents (MOU versions) as files in the data folder, one a document, named by its hash:
written whole or not at all, and checked against the hash when read."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from accord.storage.interface import (
    DocumentMissing,
    content_hash,
    is_digest,
    verified_text,
)
from accord.storage.sqlite.connection import Connections


class Documents(Connections):
    def _document_path(self, digest: str) -> Path:
        return self.documents_dir / digest[:2] / f"{digest}.md"

    async def put_document(self, text: str) -> str:
        digest = content_hash(text)
        await self.run_files(self._write_document, self._document_path(digest), text)
        return digest

    @staticmethod
    def _write_document(path: Path, text: str) -> None:
        if path.exists():
            return
        path.parent.mkdir(parents=True, exist_ok=True)
        # A temporary file of its own (two writers of one document must not share one),
        # renamed into place: a reader sees the whole document or none.
        fd, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.stem[:12]}-", suffix=".tmp")
        try:
            with os.fdopen(fd, "w", encoding="utf-8", newline="") as file:
                file.write(text)
            os.replace(temporary, path)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise

    async def get_document(self, digest: str) -> str:
        if not is_digest(digest):
            raise DocumentMissing(digest)
        return await self.run_files(self._read_document, self._document_path(digest), digest)

    @staticmethod
    def _read_document(path: Path, digest: str) -> str:
        try:
            data = path.read_bytes()
        except FileNotFoundError:
            raise DocumentMissing(digest) from None
        return verified_text(data, digest)

    async def has_document(self, digest: str) -> bool:
        if not is_digest(digest):
            return False
        return await self.run_files(self._document_path(digest).is_file)
