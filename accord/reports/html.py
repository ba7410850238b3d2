"""The status report: one self-contained HTML file (inline CSS and SVG, no script, nothing
fetched) that reads on screen and prints.

:func:`render_report` takes what the workflow's ``state`` and ``definition`` queries
return, so the report says what the workflow recorded. Charts are computed in
:mod:`accord.reports.charts` and drawn by ``templates/_charts.html.j2``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined, pass_context

from accord.logic import metrics as metric_logic
from accord.logic import zones
from accord.logic.business_days import as_utc
from accord.logic.time_display import format_day, format_instant
from accord.models import (
    ApprovalState,
    MetricTrack,
    PartnershipState,
    Review,
    ReviewKind,
    Task,
    ValueBalanceRecord,
)
from accord.reports import charts
from definitions.schema import Direction, Metric, PartnershipDefinition


@pass_context
def when(context: Any, value: datetime | None) -> str:
    """A time as the emails and pages write it (accord.logic.time_display), in the report's
    ``zone`` (the reader's: `accord report --zone`), named."""
    if value is None:
        return "—"
    return format_instant(value, context.get("zone"))


@pass_context
def day(context: Any, value: datetime | None) -> str:
    """The date of ``value`` where the reader is: 23:30 UTC is already tomorrow in Berlin."""
    if value is None:
        return "—"
    moment = as_utc(value, "a date in the report")
    zone = context.get("zone")
    return format_day((moment if zone is None else zones.local(moment, zones.zone(zone))).date())


def label(value: object) -> str:
    """Enum values as words: 'changes_requested' -> 'changes requested'."""
    return str(getattr(value, "value", value)).replace("_", " ")


def ratio(value: float) -> str:
    """Benefit-to-contribution ratios and gaps: two decimals are what a person compares."""
    return f"{value:.2f}"


def _environment() -> Environment:
    env = Environment(
        loader=PackageLoader("accord.reports", "templates"),
        # Everything rendered here is HTML or inline SVG: escape every value.
        autoescape=True,
        trim_blocks=True,
        lstrip_blocks=True,
        undefined=StrictUndefined,
    )
    env.filters.update(when=when, day=day, label=label, number=charts.number, ratio=ratio)
    return env


_ENV = _environment()


@dataclass(frozen=True)
class MetricView:
    metric: Metric | None  # None: a metric the definition no longer has
    metric_id: str
    name: str
    unit: str
    track: MetricTrack
    chart: charts.LineChart
    assessment: metric_logic.MetricAssessment | None


@dataclass(frozen=True)
class BalanceView:
    review: Review
    year: int
    balance: ValueBalanceRecord  # the review's, which an annual review in the report always has


def _metric_views(definition: PartnershipDefinition, state: PartnershipState, generated_at: datetime) -> list[MetricView]:
    launched = state.launched_at
    start = launched or state.started_at
    views = []
    for metric in definition.metrics:
        track = state.metrics.get(metric.id) or MetricTrack(metric_id=metric.id, baseline=metric.baseline)
        baseline = track.baseline if track.baseline is not None else metric.baseline
        target_due = metric.target_by.after(launched) if launched and metric.target_by else None
        chart = charts.metric_chart(
            title=metric.name, unit=metric.unit, target=metric.target, increase=metric.direction == Direction.increase,
            observations=[charts.Observation(o.at, o.value, o.actor, o.note) for o in track.observations],
            baseline=baseline, baseline_at=track.baseline_at,
            start=min([start, *([track.baseline_at] if track.baseline_at else [])]),
            end=max([generated_at, *(o.at for o in track.observations)]), target_due=target_due,
        )
        assessment = None
        if launched is not None:
            assessment = metric_logic.assess(metric, baseline, [(o.at, o.value) for o in track.observations],
                                             max(generated_at, launched), launched)
        views.append(MetricView(metric, metric.id, metric.name, metric.unit, track, chart, assessment))
    # Tracks of metrics an amendment removed: still part of the record.
    known = {m.id for m in definition.metrics}
    for metric_id, track in state.metrics.items():
        if metric_id in known:
            continue
        chart = charts.metric_chart(
            title=metric_id, unit="", target=None,
            observations=[charts.Observation(o.at, o.value, o.actor, o.note) for o in track.observations],
            baseline=track.baseline, baseline_at=track.baseline_at, start=start,
            end=max([generated_at, *(o.at for o in track.observations)]),
        )
        views.append(MetricView(None, metric_id, metric_id, "", track, chart, None))
    return views


def _rag_chart(definition: PartnershipDefinition, state: PartnershipState) -> charts.StripChart:
    parties = [(p.id, p.name) for p in definition.parties]
    known = {p for p, _ in parties}
    # A party an amendment removed still has its record.
    extra = sorted({p for point in state.rag_history for p in point.by_party} - known)
    def week(point) -> datetime:
        review = state.reviews.get(point.review_id)
        return review.scheduled_for if review is not None else point.at

    statuses = [
        charts.Status(week(point), point.review_id, point.overall.value if point.overall else None,
                      {p: r.value if r else None for p, r in point.by_party.items()})
        for point in state.rag_history
    ]
    return charts.rag_chart(statuses, parties + [(p, p) for p in extra])


def _balances(state: PartnershipState) -> list[BalanceView]:
    annual = sorted((r for r in state.reviews.values() if r.kind == ReviewKind.annual_mutual_value and r.balance),
                    key=lambda r: r.scheduled_for)
    return [BalanceView(r, r.n, r.balance) for r in annual if r.balance is not None]


def _balance_chart(definition: PartnershipDefinition, balances: list[BalanceView]) -> charts.BarChart:
    parties = [(p.id, p.name) for p in definition.parties]
    known = {p for p, _ in parties}
    extra = sorted({p for b in balances for p in b.balance.ratios} - known)
    return charts.balance_chart(
        [charts.Balance(f"Year {b.year}", b.review.closed_at or b.review.scheduled_for, b.balance.ratios,
                        b.balance.imbalanced) for b in balances],
        parties + [(p, p) for p in extra],
    )


def _term_ends(definition: PartnershipDefinition, state: PartnershipState) -> datetime | None:
    if definition.renewal is None or state.term_started_at is None:
        return None
    return definition.renewal.term.after(state.term_started_at)


def render_report(definition: PartnershipDefinition, state: PartnershipState, workflow_id: str,
                  generated_at: datetime, zone: str | None = None) -> str:
    """The partnership's status report as one HTML document, times in the reader's ``zone``
    (an IANA name; None: UTC), the zone named."""
    if generated_at.tzinfo is None:
        generated_at = generated_at.replace(tzinfo=UTC)
    reviews = sorted(state.reviews.values(), key=lambda r: (r.scheduled_for, r.id))
    held = [r for r in reviews if r.opened_at is not None]
    meetings = [r for r in held if r.kind != ReviewKind.weekly_status]
    weekly = [r for r in held if r.kind == ReviewKind.weekly_status]
    planned = [r for r in reviews if r.opened_at is None]
    approvals: list[ApprovalState] = sorted(state.approvals.values(), key=lambda a: a.opened_at)
    open_tasks: list[Task] = sorted(state.open_tasks(), key=lambda t: (t.due_at, t.id))
    balances = _balances(state)
    people = definition.stakeholders()
    context: dict[str, Any] = {
        "d": definition,
        "s": state,
        "workflow_id": workflow_id,
        "generated_at": generated_at,
        "zone": zone,
        "term_ends": _term_ends(definition, state),
        "people": people,
        "metrics": _metric_views(definition, state, generated_at),
        "rag": _rag_chart(definition, state),
        "meetings": meetings,
        "weekly": weekly,
        "planned": planned[:6],
        "planned_count": len(planned),
        "balances": balances,
        "balance_chart": _balance_chart(definition, balances),
        "escalations": sorted(state.escalations, key=lambda e: e.opened_at),
        "approvals": approvals,
        "decision_count": sum(len(a.decisions) for a in approvals),
        "open_tasks": open_tasks,
        "open_escalations": state.open_escalations(),
    }
    return _ENV.get_template("report.html.j2").render(context)

