"""The reader's time zone, declared once for every command that shows times (status, list, watch,
doctor, report, the escalation and review listings).

A command takes ``zone: Zone = None``; its users type ``--zone Asia/Kolkata`` after the command,
where the connection options go (accord/cli/connection.py), or set ACCORD_ZONE once. Unset,
it is the zone of the machine the command runs on (:mod:`accord.local_zone`), or UTC when the
machine names none. The command receives the zone resolved: an IANA name, or None for UTC.
Every time is then written by the one formatter (:mod:`accord.logic.time_display`), the zone
named; ``--json`` output stays ISO 8601 in UTC, for machines.

A zone typed by a person that the pinned zone database does not know is refused with the
database's advice (``did you mean 'Asia/Kolkata'?``), not silently replaced by UTC: they asked
for a zone and would otherwise read wrong times as theirs.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import typer

from accord.local_zone import machine_zone
from accord.logic import zones
from accord.logic.time_display import format_instant


def resolve(value: str | None) -> str | None:
    """The zone times are shown in: ``value`` if given (checked), else this machine's; None: UTC."""
    if value is None:
        return machine_zone()
    if value == "UTC":
        return None
    if (wrong := zones.problem(value)) is not None:
        raise typer.BadParameter(wrong)
    return value


Zone = Annotated[str | None, typer.Option(
    "--zone", envvar="ACCORD_ZONE", callback=resolve, show_default=False,
    help="Show times in this IANA zone, e.g. Europe/Berlin [env ACCORD_ZONE; default: this machine's zone, else UTC]",
)]


def when(moment: datetime | None, zone: str | None) -> str:
    """A time for the terminal, in ``zone`` with the zone named; "-" for none."""
    return "-" if moment is None else format_instant(moment, zone)
