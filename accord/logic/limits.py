"""How much people may send, and how long what the workflows keep may grow: every bound in one place.

Free text reaches the partnership's state (a reason, a comment, a note, a result) and travels
through every query and continue-as-new; Temporal refuses payloads over 2 MB. The workflows'
validators refuse what is too long (:func:`check_text`, :func:`required_text`); the pages and
the API refuse earlier, with their own words, using the same numbers. The bounds of a
*definition* (durations, names, lists) are ``definitions/limits.py``.
"""

from __future__ import annotations

from datetime import datetime, timedelta

# --- what people send ---------------------------------------------------------------

# Free text in an update: results, reasons, comments, notes, decisions, action titles, CARE notes.
MAX_TEXT = 5_000
# A goal statement: two sentences, not an essay.
MAX_STATEMENT = 2_000
# An uploaded MOU revision (Markdown).
MAX_UPLOAD = 200_000
# A resolution's proposed amendment: a whole amended definition (YAML).
MAX_AMENDMENT = 50_000
# What the action pages and the API take for a result, a comment, a note or a reason: less than
# the workflow's MAX_TEXT, so a form never sends what the workflow would refuse.
FORM_TEXT = 4_000

# --- what the state keeps -------------------------------------------------------------

# The timeline keeps the recent trail only (decisions, documents, reviews, metrics and
# escalations keep their full record elsewhere).
MAX_TIMELINE = 500
# Delivery news from the mail provider kept in the state.
MAX_EMAIL_EVENTS = 200
# Update ids remembered with their answers (apply once): enough for any client's retries.
MAX_ANSWERED = 200
# Who sent an action for someone else (an API key's name, ops:<name>): one line, bounded.
MAX_SENDER = 300
# What an email_delayed signal may carry into the state: its send key, the provider's error.
MAX_SEND_KEY = 1_000
MAX_EMAIL_ERROR = 500

# --- action links ---------------------------------------------------------------------

# Links stay usable a while after the deadline: late is better than never.
LINK_GRACE = timedelta(days=30)
# A review's input link, after the inputs are due (the review has closed by then).
REVIEW_LINK_GRACE = timedelta(days=7)


def link_expiry(due_at: datetime) -> datetime:
    """When a link for work due at ``due_at`` stops working."""
    return due_at + LINK_GRACE


def too_long(text: str, limit: int = MAX_TEXT) -> bool:
    return len(text) > limit


def check_text(*fields: tuple[str, str], limit: int = MAX_TEXT) -> None:
    """ValueError for the first ``(what, text)`` longer than ``limit``."""
    for what, text in fields:
        if too_long(text, limit):
            raise ValueError(f"{what} is longer than {limit:,} characters.")


def required_text(value: str, what: str, limit: int = MAX_TEXT) -> str:
    """``value`` stripped; ValueError if that is empty or longer than ``limit``."""
    text = value.strip()
    if not text:
        raise ValueError(f"{what} is required.")
    if too_long(text, limit):
        raise ValueError(f"{what} is longer than {limit:,} characters.")
    return text


def check_sender(sent_by: str | None) -> None:
    """ValueError unless ``sent_by`` (who sent an action for its actor) is absent or one short line."""
    if sent_by is None:
        return
    if not sent_by.strip() or too_long(sent_by, MAX_SENDER) or any(ord(c) < 32 or ord(c) == 127 for c in sent_by):
        raise ValueError(f"Who sent it (sent_by) must be one line of 1 to {MAX_SENDER} characters.")
