"""`accord mou ...`: the MOU's versions: print one, compare two, upload or regenerate a revision."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from accord.cli.connection import FROM_ENVIRONMENT, Connection, connected, workflow_id
from accord.cli.output import err, fail
from accord.models import Channel, MouRevision

if TYPE_CHECKING:
    from accord.client import Accord

app = typer.Typer(help="The MOU: show versions, compare them, upload or regenerate a revision.", no_args_is_help=True)


def _mou_text(conn: Connection, workflow: str, version: int) -> tuple[str, str]:
    """(hash, text) of one MOU version, read from Accord's storage and checked against its hash."""
    from accord.storage import DocumentMissing, describe_storage, open_storage

    settings = conn.settings

    async def read(accord: Accord) -> tuple[str, str] | str:
        state = await accord.state(workflow)
        found = next((v for v in state.mou.versions if v.version == version), None)
        if found is None:
            known = ", ".join(str(v.version) for v in state.mou.versions) or "none yet"
            return f"error: no MOU version {version} (versions: {known})"
        try:
            async with await open_storage(settings) as store:
                return found.hash, await store.get_document(found.hash)
        except DocumentMissing:
            problem = f"no document is stored under its hash {found.hash}"
        except ValueError as exc:  # DocumentCorrupted
            problem = str(exc)
        return f"error: MOU version {version} cannot be read from {describe_storage(settings)}: {problem}"

    # StorageUnavailable and SchemaNotCurrent are RuntimeErrors: `run` says them in one line.
    found = conn.call(read)
    if isinstance(found, str):
        fail(found)
    return found


@app.command("show")
@connected
def mou_show(ident: str, version: int, conn: Connection = FROM_ENVIRONMENT) -> None:
    """Print one MOU version (Markdown) and its SHA-256."""
    digest, text = _mou_text(conn, workflow_id(ident), version)
    err.print(f"MOU version {version} sha256 {digest}", markup=False)
    print(text, end="")


@app.command("diff")
@connected
def mou_diff(ident: str, v1: int, v2: int, conn: Connection = FROM_ENVIRONMENT) -> None:
    """Show what changed between two MOU versions (unified diff)."""
    from accord.documents.mou import diff

    workflow = workflow_id(ident)
    h1, old = _mou_text(conn, workflow, v1)
    h2, new = _mou_text(conn, workflow, v2)
    print(diff(old, new, f"version {v1} ({h1[:12]})", f"version {v2} ({h2[:12]})") or "(no differences)", end="")


@app.command("upload")
@connected
def mou_upload(ident: str, file: Path, note: Annotated[str, typer.Option(help="What changed.")] = "",
               by: Annotated[str, typer.Option("--by")] = "ops", conn: Connection = FROM_ENVIRONMENT) -> None:
    """Upload a revised MOU (Markdown); a new signature round starts and old links stop working."""
    try:
        text = file.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        fail(f"error: cannot read {file}: {exc}")
    revision = MouRevision(actor=by, note=note or f"Uploaded {file.name}", markdown=text, channel=Channel.cli)
    conn.act(lambda accord: accord.revise_mou(workflow_id(ident), revision))


@app.command("regenerate")
@connected
def mou_regenerate(ident: str, note: Annotated[str, typer.Option(help="Why.")] = "",
                   by: Annotated[str, typer.Option("--by")] = "ops", conn: Connection = FROM_ENVIRONMENT) -> None:
    """Render a fresh MOU version from the definition; a new signature round starts."""
    revision = MouRevision(actor=by, note=note or "Regenerated from the definition", channel=Channel.cli)
    conn.act(lambda accord: accord.revise_mou(workflow_id(ident), revision))
