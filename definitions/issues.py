"""What the loader reports: one :class:`Issue` a problem (``file:line: field.path: message``),
raised together as a :class:`DefinitionError`; and how a value is quoted in a message."""

from __future__ import annotations

from dataclasses import dataclass

Loc = tuple[str | int, ...]


@dataclass(frozen=True)
class Issue:
    file: str
    line: int
    path: str
    message: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: {self.path}: {self.message}"


class DefinitionError(Exception):
    """A definition that cannot be used; ``issues`` holds every problem found."""

    def __init__(self, issues: list[Issue]):
        self.issues = issues
        super().__init__("\n".join(str(i) for i in issues))


def short(text: str, limit: int = 40) -> str:
    """A value as it may appear in a one-line message: quoted, escaped, cut short."""
    shown = repr(text[:limit] + ("..." if len(text) > limit else ""))
    return shown.encode("ascii", "backslashreplace").decode("ascii")
