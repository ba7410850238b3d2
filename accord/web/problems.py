"""A page that explains why nothing happened, with the HTTP status that matches."""

from __future__ import annotations


class Problem(Exception):
    """Raised anywhere in a request; the app renders it as a clear page with ``status``."""

    def __init__(self, status: int, title: str, message: str, *, changed_nothing: bool = True):
        super().__init__(f"{status} {title}")
        self.status = status
        self.title = title
        self.message = message
        self.changed_nothing = changed_nothing
