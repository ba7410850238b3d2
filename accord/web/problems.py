"""A page that explains why nothing happened, with the HTTP status that matches."""

from __future__ import annotations

from temporalio.service import RPCError, RPCStatusCode


class Problem(Exception):
    """Raised anywhere in a request; the app renders it as a clear page with ``status``."""

    def __init__(self, status: int, title: str, message: str, *, changed_nothing: bool = True):
        super().__init__(f"{status} {title}")
        self.status = status
        self.title = title
        self.message = message
        self.changed_nothing = changed_nothing


def temporal_unreachable(exc: BaseException) -> bool:
    """Temporal cannot be reached: the lazy client's failed connect (a RuntimeError from the SDK),
    or the frontend answering UNAVAILABLE."""
    if isinstance(exc, RPCError):
        return exc.status == RPCStatusCode.UNAVAILABLE
    return isinstance(exc, RuntimeError) and str(exc).startswith("Failed client connect")


def unavailable() -> Problem:
    return Problem(503, "Accord is not answering", "Please try again in a minute.")


def no_answer_yet() -> Problem:
    return Problem(503, "No answer yet", "Accord did not confirm in time. Open the link again in a minute "
                   "to see whether it was recorded.", changed_nothing=False)


def temporal_down() -> Problem:
    return Problem(503, "Accord cannot reach Temporal", "The workflow service is not reachable right now, so "
                   "nothing can be shown or recorded. Please try again in a few minutes.")


def storage_down() -> Problem:
    return Problem(503, "Accord cannot reach its database", "Accord's records cannot be read right now, so nothing "
                   "can be shown or recorded. Please try again in a few minutes.")
