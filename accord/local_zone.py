"""The time zone of the machine a person sits at: the CLI shows times in it, and so do the pages
of the person signed in with `accord up`'s one-time local link (a browser on this very machine).

Only the zone's *name* comes from the machine, in the order the C library reads it: the ``TZ``
variable when it is set (an IANA name, with or without the leading colon POSIX allows, or a
zone file's path), else ``/etc/timezone`` (Debian's file naming it) if it names a zone, else
the zone file ``/etc/localtime`` links to (``.../zoneinfo/Europe/Berlin``). The rules for that
name come from the pinned database (:mod:`accord.logic.zones`), never from the machine's files. A name the database does not
know, a POSIX rule such as ``CET-1CEST`` (no place to name), a copied ``/etc/localtime``, or
nothing at all: UTC. The UTC aliases (``Etc/UTC``, ``Etc/Zulu``...) are UTC too, shown as such.
"""

from __future__ import annotations

import os
from pathlib import Path

from accord.logic.time_display import reader_zone

__all__ = ["machine_zone"]

TIMEZONE_FILE = Path("/etc/timezone")
LOCALTIME = Path("/etc/localtime")
_UTC_ALIASES = frozenset({"UTC", "Etc/UTC", "Etc/UCT", "Etc/Universal", "Etc/Zulu", "Etc/GMT", "Etc/Greenwich",
                          "Etc/GMT0", "Etc/GMT+0", "Etc/GMT-0"})
_MAX_NAME_BYTES = 256  # a zone name is a few dozen characters; /etc/timezone is read no further


def machine_zone() -> str | None:
    """This machine's IANA zone, or None for UTC (see the module docstring for where it is read)."""
    if "TZ" in os.environ:  # set, even to something unusable: the machine's clock follows it, not the files
        tz = os.environ["TZ"].removeprefix(":")
        return _named(_in_zoneinfo(tz) if tz.startswith("/") else tz)
    for name in (_from_timezone_file(), _from_localtime()):
        if name in _UTC_ALIASES:
            return None
        if (zone := _named(name)) is not None:
            return zone
    return None


def _from_timezone_file() -> str | None:
    try:
        with TIMEZONE_FILE.open("rb") as file:
            return file.read(_MAX_NAME_BYTES).decode("utf-8", "replace").strip()
    except OSError:
        return None


def _from_localtime() -> str | None:
    try:
        target = os.readlink(LOCALTIME)
    except OSError:
        return None  # no file, or a copy of a zone file: it does not say which zone it is
    return _in_zoneinfo(target)


def _in_zoneinfo(path: str) -> str | None:
    """The zone a zone file's path names (``/usr/share/zoneinfo/Europe/Berlin``), if it says."""
    _, found, name = path.partition("zoneinfo/")
    # Debian also ships the zones under posix/ and right/ (with leap seconds): the same names.
    return name.removeprefix("posix/").removeprefix("right/") if found else None


def _named(name: str | None) -> str | None:
    if name is None or name in _UTC_ALIASES:
        return None
    return reader_zone(name)
