"""The malformed-input corpus (tests/data/malformed/): load it and expand its markers.

    for case in cases("partnership"):
        case.args        # the raw values to send (a list: usually one)
        case.refusal     # text the refusal must contain

``{"$repeat": s, "times": n}`` anywhere in a value expands to ``s * n`` (huge strings stay
out of the file). The same corpus is meant for the HTTP API's tests: post ``case.args[0]``
as the request body of the endpoint that maps to ``case.update``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from tests.support.paths import DATA

CORPUS = DATA / "malformed" / "updates.json"


@dataclass(frozen=True)
class Case:
    group: str
    update: str
    args: list[Any]
    why: str
    refusal: str

    @property
    def id(self) -> str:
        return f"{self.update}: {self.why}"


def expand(value: Any) -> Any:
    if isinstance(value, dict):
        if set(value) == {"$repeat", "times"}:
            return value["$repeat"] * value["times"]
        return {k: expand(v) for k, v in value.items()}
    if isinstance(value, list):
        return [expand(v) for v in value]
    return value


def cases(group: str) -> list[Case]:
    raw = json.loads(CORPUS.read_text())[group]
    return [
        Case(group, c["update"], expand(c["args"]) if "args" in c else [expand(c["arg"])], c["why"], c["refusal"])
        for c in raw
    ]
