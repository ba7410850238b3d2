"""What the client raises when an action is refused, and why (the web app, the API and the CLI
turn each into their own answer: an HTTP 404 or 409, an exit code)."""

from __future__ import annotations

from definitions.checks import Problem
from definitions.loader import Issue


class ActionRefused(Exception):
    """The workflow refused an action (wrong person, already decided, stale round...)."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


class NotFound(ActionRefused):
    """There is no such partnership or escalation (an HTTP 404, where the others are 409)."""


class DefinitionInvalid(ActionRefused):
    """A definition this deployment does not start: it fails the checks `accord validate` makes here."""

    def __init__(self, problems: list[Problem]):
        super().__init__(f"The definition has {len(problems)} problem(s): "
                         + "; ".join(f"{p.dotted}: {p.message}" for p in problems))
        self.problems = problems


class AmendmentInvalid(ActionRefused):
    """A resolution's proposed amendment is not a valid definition of this partnership."""

    def __init__(self, issues: list[Issue]):
        super().__init__(f"The proposed amendment has {len(issues)} problem(s): "
                         + "; ".join(f"line {i.line}: {i.path}: {i.message}" for i in issues))
        self.issues = issues
