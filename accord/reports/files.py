"""Write a partnership's report files: what `accord report` does once it has the state."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from accord.models import PartnershipState
from accord.reports.audit import audit_export, to_json
from accord.reports.html import render_report
from definitions.schema import PartnershipDefinition


@dataclass(frozen=True)
class Written:
    report: Path
    audit: Path


def write_reports(definition: PartnershipDefinition, state: PartnershipState, workflow_id: str, out_dir: Path,
                  generated_at: datetime, zone: str | None = None) -> Written:
    """Write ``<id>-report.html`` (times in the reader's ``zone``, None: UTC) and ``<id>-audit.json``
    (ISO 8601 in UTC, for machines) into ``out_dir`` (created if missing).

    Each file is written beside its final name and then renamed, so a reader never sees half a file.
    """
    out_dir.mkdir(parents=True, exist_ok=True)
    written = Written(out_dir / f"{definition.id}-report.html", out_dir / f"{definition.id}-audit.json")
    for path, text in ((written.report, render_report(definition, state, workflow_id, generated_at, zone)),
                       (written.audit, to_json(audit_export(definition, state, workflow_id)))):
        partial = path.with_name(path.name + ".partial")
        partial.write_text(text, encoding="utf-8")
        partial.replace(path)
    return written
