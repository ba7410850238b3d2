"""Every bound a definition must keep, and why: whatever `accord validate` accepts, the
workflow must be able to run for its whole life.

The workflow turns a definition into dates, search attributes, email headers, calendar
invitations, activity inputs and history events. Each of those has a limit outside
Accord's control (Python's calendar, Temporal's server, RFC 5322, PostgreSQL); a value
past it does not fail validation, it fails a workflow task, forever. The bounds below
keep every definition far inside them. They are checked by :mod:`definitions.checks`
(not by the pydantic types: the stored inputs of partnerships started before a bound
existed must still decode), as rules version ``LATEST_RULES``.
"""

from __future__ import annotations

from dataclasses import dataclass

from definitions.durations import Duration

# The rules version these limits belong to. 0: the rules before them (1: the limits; 2: the
# clearing and batching settings' rules). A running partnership keeps the version it started
# under, so its amendments are judged as they were then.
LATEST_RULES = 2

HOUR, DAY = 3600, 86400


# --- durations ----------------------------------------------------------------------
#
# Python's datetime ends on 31 December 9999; `Duration.after` past it raises, and so does
# every workflow task that computes the date. The furthest the workflow looks ahead of "now"
# is bounded by these maxima:
#   a task or approval:  deadline (5y) + 10 overdue reminders (MAX_OVERDUE_REMINDERS in
#                        accord.logic.chasing) x overdue_every (1y) + link grace (30d) ~ 15y
#                        (escalate_after, at most 1y, ends the chase earlier);
#   a review:            next occurrence (cadence, 5y; the search for it probes up to twice
#                        the partnership's age + cadence) + inputs due (5y) + link grace (7d);
#   an escalation:       every level's window in turn, 10 levels x 5y = 50y (the ladder view);
#   a renewal:           the term's end, 10y.
# So every date is a few decades past "now" at most (the review search looks as far past now
# as the partnership is old, plus a decade): partnerships of this millennium stay far inside
# the calendar whatever they hold. Zero is never a duration; the minima below apply unless
# the deployment allows short durations (Settings.allow_short_durations).


@dataclass(frozen=True)
class DurationLimit:
    kind: str  # how a message names the field
    shortest: Duration | None  # None: no minimum beyond "longer than zero"
    longest: Duration


# What repeats: a review's cadence, a metric's cadence. Shorter than a day floods people
# with email and history with events; only a deployment that says so (tests, benchmarks)
# may use seconds.
CADENCE = DurationLimit("cadence", Duration(seconds=DAY), Duration(months=5 * 12))
# A renewal term: the partnership renews (an approval) once per term.
TERM = DurationLimit("term", Duration(seconds=DAY), Duration(months=10 * 12))
# What a person must do by a deadline: a task, an approval, a goal statement, review inputs,
# an escalation level's response, the renewal notice.
DEADLINE = DurationLimit("deadline", Duration(seconds=HOUR), Duration(months=5 * 12))
# Reminders before a deadline, overdue reminders, and the wait before escalating.
REMINDER = DurationLimit("reminder", Duration(seconds=HOUR), Duration(months=12))
# When a metric's target should be met, counted from launch (no minimum: it only labels).
HORIZON = DurationLimit("target date", None, Duration(months=10 * 12))
# How long a notice waits for a quiet moment, and an escalation's cause must stay away before it
# pages again: at least a minute (or every event is its own email), at most a month.
QUIET = DurationLimit("quiet period", Duration(seconds=60), Duration(seconds=30 * DAY))

# Every duration field of the schema, by field name.
DURATIONS: dict[str, DurationLimit] = {
    "every": CADENCE,
    "cadence": CADENCE,
    "term": TERM,
    "due": DEADLINE,
    "deadline": DEADLINE,
    "inputs_due": DEADLINE,
    "respond_within": DEADLINE,
    "notice": DEADLINE,
    "before": REMINDER,
    "overdue_every": REMINDER,
    "escalate_after": REMINDER,
    "target_by": HORIZON,
    "quiet_period": QUIET,
    "max_delay": QUIET,
}


# --- text ---------------------------------------------------------------------------


@dataclass(frozen=True)
class TextLimit:
    longest: int  # characters
    single_line: bool


# Names, titles, roles, units, addresses, the template's file name. The partnership's name
# is upserted as the AccordPartnership keyword search attribute: Temporal's SQL visibility
# stores keywords as VARCHAR(255), and a search attribute value is at most 2 KB (200
# characters are at most 800 bytes of UTF-8). Names and titles go into email subjects and
# display names, and calendar summaries: one line, or the header cannot be composed.
NAME = TextLimit(200, single_line=True)
# Descriptions, goals, definitions of done, value statements, prompts: shown in emails and
# pages, kept in task descriptions the state carries through every continue-as-new.
TEXT = TextLimit(5_000, single_line=False)
# The MOU's clauses: legal prose, rendered into the MOU document.
CLAUSE = TextLimit(10_000, single_line=False)

# Every free-text field of the schema, by field name (ids and stakeholder references are
# bounded by the id pattern and by having to name a stakeholder; enums by their values).
TEXTS: dict[str, TextLimit] = {
    "name": NAME,
    "title": NAME,
    "role": NAME,
    "unit": NAME,
    "email": NAME,  # the schema already caps an address at 254 (RFC 5321)
    "template": NAME,
    "holidays": NAME,
    "timezone": NAME,  # the schema caps a zone name at 64; the checks want a name the database has
    "zone": NAME,
    "description": TEXT,
    "value_statement": TEXT,
    "goal": TEXT,
    "definition_of_done": TEXT,
    "prompt": TEXT,
    **dict.fromkeys(
        ["roles_and_responsibilities", "decision_authority", "intellectual_property", "publication_rights",
         "data_use", "conflict_resolution", "renewal", "termination", "other"],
        CLAUSE,
    ),
}
# The title of a further clause (a key of mou.clauses.other): a heading of the MOU.
CLAUSE_TITLE = NAME
# Fields holding ids and references to stakeholders: checked as ids, not as text.
REFERENCES = frozenset(
    {"id", "owner", "approvers", "signatories", "participants", "override_by", "contacts"}
)

# Never in a single-line field: C0 and C1 control characters (CR and LF split an email
# header; the others have no business in a name), the Unicode line and paragraph
# separators, and the bidirectional overrides and isolates that make a name read
# differently from what it is (U+202A-U+202E, U+2066-U+2069).
LINE_BREAKING = frozenset("\u2028\u2029")
BIDI_CONTROLS = frozenset(chr(c) for c in [*range(0x202A, 0x202F), *range(0x2066, 0x206A)])
# Never anywhere, not even in multi-line text: NUL (PostgreSQL text cannot hold it; Temporal's
# PostgreSQL visibility store keeps search attributes as jsonb, which refuses \u0000), and the
# other C0 controls except tab, line feed and carriage return.
MULTI_LINE_ALLOWED_CONTROLS = frozenset("\t\n\r")


# --- lists --------------------------------------------------------------------------
#
# Screening and the MOU stage never continue as new, so everything they do must fit one
# run's history: Temporal warns at 10,240 events and fails the workflow at 51,200 (it also
# allows 2,000 pending activities and 2,000 pending child workflows at once).
# What one person costs at worst, when nobody acts until every reminder has gone out:
#   one email: 3 activity events + up to 3 of the workflow task that follows        =   6
#   a task:    its assignment, 3 reminders before, the overdue notice and 10 overdue
#              reminders (15 emails, 90), their 15 timers (30), an escalation child
#              and its reports as it climbs a 10-level ladder (~25), the completion
#              update (~5)                                                     ~ 120-150
#   an approver, in one round: the request and 14 reminders (15 emails)          =  90
# So screening at the maxima (30 checklist tasks + 20 goal statements, go/no-go by 20)
# is 50 x ~125 + 20 x 90 + the updates ~ 9,000 events, and an MOU round with 10
# signatories ~ 930. Measured on the time-skipping server at these maxima, nobody acting
# until every reminder was out and every escalation had climbed the whole ladder: 6,312
# events when the screening tasks were done, 9,012 after go/no-go by 20 (8,052 by 10),
# then 942 and 925 for two MOU rounds with 10 signatories (1,787 and 1,624 with 20). The
# MOU's 20 rounds (its schema maximum), each chased to the end, would make ~28,000: about
# half the hard limit. Go/no-go and renewal are one round each, so their approvers may be
# more than the MOU's signatories. At most 50 emails and 50 escalation children are
# pending at once. The operating stages continue as new (history_limit); their lists are
# bounded by what every review and every continue-as-new carries.

LISTS: dict[str, int] = {
    "ops": 5,  # every failure notice goes to each of them
    "parties": 10,
    "stakeholders": 25,  # per party
    "checklist": 30,  # screening's and launch's, each: one chased task apiece
    "deliverables": 30,
    "metrics": 20,  # each one a line in every review and a baseline task at launch
    "participants": 20,  # goal statements; review inputs: one email and task each
    "approvers": 20,  # go/no-go, renewal: one decision (an update) and 15 emails apiece
    "signatories": 10,  # the same, in each of up to 20 MOU rounds
    "override_by": 20,
    "ladder": 10,  # levels an escalation climbs, one child-workflow report each
    "contacts": 10,  # per level: each is emailed at every climb
    "before": 3,  # reminders before a deadline: one email per open task or approver each
    "other": 20,  # further MOU clauses
}

# The whole definition, as JSON. It travels in every workflow input (start, each
# continue-as-new, each escalation child, the MOU and archive activities) and a copy of it
# stays in the state for each amendment. Temporal warns at 512 KB a payload and refuses
# 2 MB: a quarter of the warning leaves room for the state. (The samples are 4-12 KB.)
MAX_DEFINITION_BYTES = 128_000
