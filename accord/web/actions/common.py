"""What every action page shares: the page and the form error, reading a form's fields,
and how names and times are shown."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from accord.logic import limits
from accord.models import PartnershipState
from accord.web.people import Person
from accord.web.problems import Problem


class FormError(Exception):
    """The form is incomplete: show it again with this message; nothing was sent."""


@dataclass(frozen=True)
class Page:
    template: str
    context: dict[str, Any] = field(default_factory=dict)


def check_open(state: PartnershipState) -> None:
    if state.stage.is_final:
        raise Problem(409, "This partnership is closed", f"{state.name} is {state.stage.value}: nothing more is asked here.")


def person_name(people: Mapping[str, Person] | None, who: str) -> str:
    person = (people or {}).get(who)
    return person.name if person else who


def form_number(form: Mapping[str, Any], name: str) -> float | None:
    text = form_text(form, name)
    if not text:
        return None
    try:
        value = float(text.replace(",", "."))
    except ValueError:
        raise FormError(f"{name.replace('metric-', '').replace('-', ' ').capitalize()}: {text!r} is not a number.") from None
    if not math.isfinite(value):  # NaN or infinite
        raise FormError(f"{name}: please give a finite number.")
    return value


def form_text(form: Mapping[str, Any], name: str) -> str:
    value = form.get(name)
    return value.strip() if isinstance(value, str) else ""


def when(at: datetime | None) -> str:
    return f"{at:%Y-%m-%d %H:%M} UTC" if at else "an unknown date"


def check_length(text: str, what: str, most: int = limits.FORM_TEXT) -> None:
    """A FormError if ``text`` is longer than ``most`` (``accord.logic.limits``)."""
    if limits.too_long(text, most):
        raise FormError(f"Please keep the {what} under {most:,} characters.")

