"""Definition files: `accord validate`, `accord schema`, `accord diagram`, and the one way
every command reads a definition (`load_or_exit`: every problem as file:line, then exit 1)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from accord.cli.output import FAILED, err, fail, one_line, out
from accord.config import Settings

if TYPE_CHECKING:
    from definitions.schema import PartnershipDefinition


def validate(
    # readable=False: the loader reports an unreadable file like any other problem (file:line: ...).
    files: Annotated[list[Path], typer.Argument(help="Definition files or folders.", readable=False)],
) -> None:
    """Check definition files; print every problem as file:line: field.path: message."""
    from definitions.loader import validate_files

    issues = validate_files(files, **definition_checks())
    for issue in issues:
        out.print(one_line(str(issue)), markup=False, highlight=False, soft_wrap=True)
    if issues:
        fail(f"{len(issues)} problem(s) found")
    err.print("ok: no problems found")


def schema(output: Annotated[Path | None, typer.Option("--output", "-o", help="Write to this file.")] = None) -> None:
    """Print the JSON Schema of a definition file (for editors: yaml-language-server)."""
    from definitions.schema import PartnershipDefinition

    text = json.dumps(PartnershipDefinition.model_json_schema(), indent=2)
    if output:
        output.write_text(text + "\n")
        err.print(f"wrote {output}")
    else:
        print(text)


def diagram(file: Path) -> None:
    """Print the lifecycle a definition implies as a Mermaid flowchart."""
    from accord.ops.diagram import mermaid

    print(mermaid(load_or_exit(file)), end="")


def definition_checks() -> dict[str, Any]:
    """The deployment's checks for a definition (minimum durations, MOU template folders)."""
    from pydantic import ValidationError

    from accord.config import ConfigError

    try:
        return Settings().definition_checks()
    except (ValidationError, ConfigError) as exc:
        fail(f"error: the configuration is not valid ({type(exc).__name__}); see `accord config check`")


def load_or_exit(file: Path) -> PartnershipDefinition:
    """The definition in ``file``, checked as `accord validate` checks it; every problem and exit 1 if not."""
    from definitions.loader import DefinitionError, load

    try:
        return load(file, **definition_checks(), all_problems=True)
    except DefinitionError as exc:
        for issue in exc.issues:
            err.print(str(issue), markup=False, highlight=False, soft_wrap=True)
        raise typer.Exit(FAILED) from None
