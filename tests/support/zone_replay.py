"""Run in a process whose zone data was changed (tests/replay/test_replay_other_zone_data.py): what it sees.

    python -m tests.support.zone_replay HISTORY_DIR

Prints one JSON object: the offset the system's zone data gives London on a summer day (the
changed data, as any code using ``zoneinfo`` would see it), the offset Accord's pinned data
gives (``accord.logic.zones``), the replay failures of every saved history under HISTORY_DIR,
and, for each weekly review whose request email the histories recorded, the meeting time it
recorded beside the one this process computes again from the rule.
"""

from __future__ import annotations

import asyncio
import base64
import json
import sys
import zoneinfo
from datetime import UTC, datetime, timedelta
from pathlib import Path

from accord.logic import recurrence, zones
from accord.logic.business_days import BusinessCalendar, JointCalendar
from definitions.schema import PartnershipDefinition
from tests.support.history_files import saved
from tests.support.run_record import replay

SUMMER = datetime(2027, 7, 1, 12, tzinfo=UTC)


def _payload(payload: dict) -> dict:
    return json.loads(base64.b64decode(payload["data"]))


def recorded_meetings(history: dict) -> tuple[PartnershipDefinition, list[datetime]]:
    """The definition a partnership started with and the meeting of each weekly status it asked inputs for."""
    events = history["events"]
    started = events[0]["workflowExecutionStartedEventAttributes"]
    definition = PartnershipDefinition.model_validate(_payload(started["input"]["payloads"][0])["definition"])
    meetings = []
    for event in events:
        scheduled = event.get("activityTaskScheduledEventAttributes")
        if scheduled and scheduled["activityType"]["name"] == "send_email":
            request = _payload(scheduled["input"]["payloads"][0])
            key = request["send_key"].split("/")
            if len(key) > 4 and key[2] == "review" and key[3].startswith("weekly_status-") and key[4] == "request":
                meetings.append(datetime.fromisoformat(request["context"]["due_at"]))
    return definition, sorted(set(meetings))


def recomputed(definition: PartnershipDefinition, meetings: list[datetime]) -> list[datetime]:
    """Each meeting after the first, computed again (from the one before it) with the pinned data."""
    cadence = definition.reviews.weekly_status
    calendar = JointCalendar([BusinessCalendar(p.holidays or (), zone=p.timezone) for p in definition.parties])
    # A weekly rule counts from the week of its start: any instant just before the first meeting will do.
    start = meetings[0] - timedelta(seconds=1)
    out = [meetings[0]]
    for previous in meetings[:-1]:
        out.append(recurrence.next_occurrence(start, cadence.rule, previous, calendar)[1])
    return out


def main(root: Path) -> dict:
    histories = saved(root)
    failures = asyncio.run(replay(histories))
    checked = []
    for path in sorted(root.rglob("*.json")):
        definition, meetings = recorded_meetings(json.loads(path.read_text()))
        # (Only a partnership whose rule stayed as it started: an amended one moves on purpose.)
        if len(meetings) > 1 and definition.reviews.weekly_status and definition.reviews.weekly_status.rule:
            checked.append({"recorded": [m.isoformat() for m in meetings],
                            "recomputed": [m.isoformat() for m in recomputed(definition, meetings)]})
    return {
        "system_london_offset_h": zoneinfo.ZoneInfo("Europe/London").utcoffset(SUMMER).total_seconds() / 3600,
        "pinned_london_offset_h": zones.zone("Europe/London").utcoffset(SUMMER).total_seconds() / 3600,
        "histories": len(histories),
        "replay_failures": failures,
        "meetings": checked,
    }


if __name__ == "__main__":
    print(json.dumps(main(Path(sys.argv[1]))))
