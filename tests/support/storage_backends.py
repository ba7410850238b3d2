"""Both storage backends for the same tests: ``backend`` is parametrized (sqlite, postgresql).

A Backend opens as many independent stores on one state as a test wants (separate
connection pools, or separate SQLite connections and threads), as separate processes or
hosts would, and can damage a stored document the way a disk or an intruder would.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import psycopg
import pytest
from pydantic import SecretStr

from accord.config import Settings
from accord.storage import Storage, migrations, open_storage


@dataclass(frozen=True)
class Backend:
    name: str
    data_dir: Path
    url: str | None  # PostgreSQL: the test's own database, migrated

    def settings(self) -> Settings:
        return Settings(data_dir=self.data_dir, database_url=self.url)

    def applied_to(self, settings: Settings) -> Settings:
        """``settings`` with their Accord state here: for a worker and web app of a test. With
        PostgreSQL the signing keys must come from configuration: the test's own key is kept."""
        changes: dict = {"data_dir": self.data_dir, "database_url": self.url and SecretStr(self.url)}
        if self.url and settings.signing_keys is None:
            changes["signing_keys"] = SecretStr(",".join(settings.keys))
        return settings.model_copy(update=changes)

    def env(self) -> dict[str, str]:
        """The variables that make a separate process use this state."""
        return {"ACCORD_DATA_DIR": str(self.data_dir), "ACCORD_DATABASE_URL": self.url or ""}

    async def open(self) -> Storage:
        return await open_storage(self.settings())

    async def remove(self, digest: str) -> None:
        """Lose a stored document (a deleted file, a restore that missed it)."""
        if self.url is None:
            (self.data_dir / "documents" / digest[:2] / f"{digest}.md").unlink()
            return
        async with await psycopg.AsyncConnection.connect(self.url, autocommit=True) as conn:
            await conn.execute("DELETE FROM accord_documents WHERE sha256 = %s", (digest,))

    async def damage(self, digest: str, text: str) -> None:
        """Replace a stored document's content without changing its hash."""
        if self.url is None:
            (self.data_dir / "documents" / digest[:2] / f"{digest}.md").write_text(text, encoding="utf-8")
            return
        async with await psycopg.AsyncConnection.connect(self.url, autocommit=True) as conn:
            await conn.execute("UPDATE accord_documents SET content = %s WHERE sha256 = %s", (text.encode(), digest))


@pytest.fixture(params=["sqlite", "postgresql"])
async def backend(request: pytest.FixtureRequest, tmp_path: Path) -> Backend:
    url = None
    if request.param == "postgresql":
        url = request.getfixturevalue("postgres_db")
        await migrations.apply(url)
    return Backend(request.param, tmp_path / "accord", url)


@pytest.fixture
async def store(backend: Backend) -> AsyncIterator[Storage]:
    async with await backend.open() as opened:
        yield opened
