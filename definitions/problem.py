"""One problem with a definition: where (a path of field names and list positions) and what.

Its own module so that :mod:`definitions.checks` and :mod:`definitions.limit_checks` both
make them; pure, like both (it runs inside workflow code).
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass

from definitions import limits

Path = tuple[str | int, ...]


@dataclass(frozen=True)
class Problem:
    path: Path
    message: str

    @property
    def dotted(self) -> str:
        # A path can hold a key the author wrote (a clause title): keep the line one line.
        return printable(".".join(str(p) for p in self.path)) or "(top level)"


def printable(text: str) -> str:
    """``text`` with control, line-breaking and bidi characters written as escapes."""
    return "".join(f"\\u{ord(c):04x}" if unicodedata.category(c) in ("Cc", "Zl", "Zp") or c in limits.BIDI_CONTROLS
                   else c for c in text)
