"""The status report and its charts, rendered from a PartnershipState built by hand."""

from __future__ import annotations

import itertools
import json
from datetime import UTC, datetime, timedelta
from html.parser import HTMLParser

import pytest

from accord.models import (
    ApprovalOutcome,
    ApprovalState,
    Channel,
    Decision,
    DecisionKind,
    EscalationRecord,
    MetricLine,
    MetricObservation,
    MetricTrack,
    PartnershipState,
    Rag,
    RagPoint,
    Review,
    ReviewInput,
    ReviewKind,
    Stage,
    Task,
    TaskKind,
    ValueBalanceRecord,
)
from accord.reports import charts
from accord.reports.audit import audit_export
from accord.reports.files import write_reports
from accord.reports.html import render_report
from definitions.loader import load
from tests.support.paths import DATA

LAUNCH = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
NOW = LAUNCH + timedelta(days=400)
XSS = "<script>alert('x')</script>"


# --- a tiny DOM over html.parser (the stdlib has no HTML tree) ----------------------------

VOID = {"meta", "link", "br", "img", "input", "hr", "col", "source"}


class Node:
    def __init__(self, tag: str, attrs: dict[str, str], parent: Node | None):
        self.tag, self.attrs, self.parent = tag, attrs, parent
        self.children: list[Node] = []
        self.text_parts: list[str] = []

    @property
    def classes(self) -> set[str]:
        return set(self.attrs.get("class", "").split())

    def text(self) -> str:
        return "".join(self.text_parts) + "".join(c.text() for c in self.children)

    def iter(self):
        yield self
        for child in self.children:
            yield from child.iter()

    def find_all(self, tag: str | None = None, cls: str | None = None, **attrs: str) -> list[Node]:
        return [n for n in self.iter()
                if (tag is None or n.tag == tag) and (cls is None or cls in n.classes)
                and all(n.attrs.get(k.replace("_", "-")) == v for k, v in attrs.items())]

    def find(self, tag: str | None = None, cls: str | None = None, **attrs: str) -> Node:
        found = self.find_all(tag, cls, **attrs)
        assert found, f"no <{tag} class={cls} {attrs}>"
        return found[0]

    def num(self, name: str) -> float:
        return float(self.attrs[name])


class Tree(HTMLParser):
    def __init__(self, html: str):
        super().__init__(convert_charrefs=True)
        self.root = self.current = Node("#document", {}, None)
        self.feed(html)

    def handle_starttag(self, tag, attrs):
        node = Node(tag, {k: v or "" for k, v in attrs}, self.current)
        self.current.children.append(node)
        if tag not in VOID:
            self.current = node

    def handle_startendtag(self, tag, attrs):
        self.current.children.append(Node(tag, {k: v or "" for k, v in attrs}, self.current))

    def handle_endtag(self, tag):
        node = self.current
        while node is not None and node.tag != tag:
            node = node.parent
        if node is not None and node.parent is not None:
            self.current = node.parent

    def handle_data(self, data):
        self.current.text_parts.append(data)


def parse(html: str) -> Node:
    return Tree(html).root


# --- a partnership, built by hand -----------------------------------------------------------


@pytest.fixture
def definition():
    return load(DATA / "operating.yaml")


def weekly(n: int, alpha: Rag | None, beta: Rag | None) -> tuple[Review, RagPoint]:
    at = LAUNCH + timedelta(weeks=n)
    inputs = {}
    if alpha:
        inputs["abe"] = ReviewInput(stakeholder="abe", party="alpha", at=at, channel=Channel.web, rag=alpha)
    if beta:
        inputs["ben"] = ReviewInput(stakeholder="ben", party="beta", at=at, channel=Channel.web, rag=beta)
    known = [r for r in (alpha, beta) if r]
    overall = max(known, key=["green", "amber", "red"].index) if known else None
    review = Review(id=f"weekly_status-{n}", kind=ReviewKind.weekly_status, n=n, scheduled_for=at, opened_at=at,
                    inputs_due_at=at + timedelta(days=2), participants=["abe", "ben"], inputs=inputs,
                    closed_at=at + timedelta(days=2), missed=[w for w, r in (("abe", alpha), ("ben", beta)) if not r],
                    overall=overall)
    point = RagPoint(at=at + timedelta(days=2), review_id=review.id, overall=overall,
                     by_party={"alpha": alpha, "beta": beta})
    return review, point


@pytest.fixture
def state() -> PartnershipState:
    statuses = [weekly(1, Rag.green, Rag.green), weekly(2, Rag.green, Rag.amber), weekly(3, Rag.red, None),
                weekly(4, Rag.green, Rag.green)]
    monthly_at = LAUNCH + timedelta(days=31)
    annual_at = LAUNCH + timedelta(days=365)
    reviews = {r.id: r for r, _ in statuses}
    reviews["monthly-1"] = Review(
        id="monthly-1", kind=ReviewKind.monthly, n=1, scheduled_for=monthly_at, opened_at=monthly_at,
        inputs_due_at=monthly_at + timedelta(days=3), participants=["abe", "ben"], closed_at=monthly_at + timedelta(days=3),
        inputs={"abe": ReviewInput(stakeholder="abe", party="alpha", at=monthly_at, channel=Channel.web, note="ok")},
        missed=["ben"], decisions=[f"Ship the playbook {XSS}"],
        metrics=[MetricLine(metric_id="referrals", name="Qualified referrals", unit="referrals per month", baseline=2,
                            target=10, latest=4, on_target=False, missed=False, summary="4 of 10")])
    reviews["annual_mutual_value-1"] = Review(
        id="annual_mutual_value-1", kind=ReviewKind.annual_mutual_value, n=1, scheduled_for=annual_at,
        opened_at=annual_at, inputs_due_at=annual_at + timedelta(days=14), participants=["ann", "ben"],
        closed_at=annual_at + timedelta(days=14),
        balance=ValueBalanceRecord(ratios={"alpha": 3.0, "beta": 1 / 3}, gap=8 / 3, tolerance=0.5, imbalanced=True,
                                   summary="Imbalanced: beta gets the least back"))
    reviews["monthly-2"] = Review(id="monthly-2", kind=ReviewKind.monthly, n=2, scheduled_for=NOW + timedelta(days=5),
                                  inputs_due_at=NOW + timedelta(days=8), participants=["abe", "ben"])
    return PartnershipState(
        partnership_id="operating", name=f"Referral partnership {XSS}", chain_id="chain", stage=Stage.active,
        started_at=LAUNCH - timedelta(days=10), stage_started_at=LAUNCH, launched_at=LAUNCH, term_started_at=LAUNCH,
        runs=2,
        reviews=reviews,
        rag_history=[p for _, p in statuses],
        metrics={"referrals": MetricTrack(
            metric_id="referrals", baseline=2, baseline_at=LAUNCH - timedelta(days=2),
            observations=[MetricObservation(value=v, at=LAUNCH + timedelta(days=30 * (i + 1)), actor="abe",
                                            channel=Channel.api, note=f"month {i + 1}")
                          for i, v in enumerate([4, 6, 5])])},
        escalations=[EscalationRecord(id="esc-1", trigger="red_status", subject="status", reason=f"Weekly status is RED {XSS}",
                                      level=1, raised_by="accord", channel=Channel.temporal,
                                      opened_at=LAUNCH + timedelta(weeks=3, days=2))],
        approvals={"go-no-go": ApprovalState(
            id="go-no-go", title="Go/no-go decision", stage=Stage.screening, approvers=["ann", "ben"], policy="all",
            opened_at=LAUNCH - timedelta(days=10), deadline_at=LAUNCH - timedelta(days=3), outcome=ApprovalOutcome.approved,
            decisions=[Decision(approval_id="go-no-go", round=1, actor=a, decision=DecisionKind.approve, comment="yes",
                                at=LAUNCH - timedelta(days=5), channel=Channel.email_link) for a in ("ann", "ben")])},
        tasks={"playbook": Task(id="playbook", kind=TaskKind.deliverable, stage=Stage.launch, title="Referral playbook",
                                owner="abe", created_at=LAUNCH, due_at=LAUNCH + timedelta(days=60), overdue=True)},
    )


# --- the charts --------------------------------------------------------------------------------


def linear(points: list[charts.Point]) -> tuple[float, float]:
    """Slope and intercept of value -> y through the chart's own points."""
    a, b = points[0], points[-1]
    slope = (b.y - a.y) / (b.value - a.value)
    return slope, a.y - slope * a.value


def test_metric_chart_places_target_baseline_and_points_on_one_scale():
    obs = [charts.Observation(LAUNCH + timedelta(days=30 * i), v) for i, v in enumerate([4, 6, 5], start=1)]
    chart = charts.metric_chart(title="Referrals", unit="per month", observations=obs, target=10, baseline=2,
                                baseline_at=LAUNCH, start=LAUNCH, end=LAUNCH + timedelta(days=120))
    slope, intercept = linear(chart.points)
    assert slope < 0, "larger values are higher up (smaller y)"
    target, baseline = chart.reference("target"), chart.reference("baseline")
    assert target.y == pytest.approx(slope * 10 + intercept, abs=0.02)
    assert baseline.y == pytest.approx(slope * 2 + intercept, abs=0.02)
    assert chart.plot.top <= target.y < baseline.y <= chart.plot.bottom
    # The value axis starts at zero and reaches the target; its tick labels sit where their values are.
    assert chart.y_ticks[0].label == "0" and float(chart.y_ticks[-1].label) >= 10
    for tick in chart.y_ticks:
        assert tick.pos == pytest.approx(slope * float(tick.label) + intercept, abs=0.02)
    # Time runs left to right, from the start to the end given.
    xs = [p.x for p in chart.points]
    assert xs == sorted(xs) and chart.plot.left < xs[0] and xs[-1] < chart.plot.right
    assert chart.baseline_point.x == chart.plot.left
    assert chart.path.startswith(f"M{xs[0]:g},") and chart.path.count("L") == 2


def test_metric_chart_marks_observations_on_target_by_direction():
    obs = [charts.Observation(LAUNCH + timedelta(days=i), v) for i, v in enumerate([12, 8, 10])]
    up = charts.metric_chart(title="up", unit="", observations=obs, target=10)
    down = charts.metric_chart(title="down", unit="", observations=obs, target=10, increase=False)
    assert [p.good for p in up.points] == [True, False, True]
    assert [p.good for p in down.points] == [False, True, True]


def test_an_empty_metric_chart_still_has_axes_and_its_target():
    chart = charts.metric_chart(title="Nothing yet", unit="", observations=[], target=10, start=LAUNCH,
                                end=LAUNCH + timedelta(days=90))
    assert chart.empty and chart.description.startswith("No observations yet")
    assert chart.reference("target") is not None and chart.y_ticks and chart.x_ticks


@pytest.mark.parametrize(("lo", "hi"), [(0, 10), (0.2, 0.9), (-3, 7), (5, 5), (1200, 1900)])
def test_nice_ticks_cover_the_range_on_round_steps(lo, hi):
    ticks = charts.nice_ticks(lo, hi)
    assert ticks[0] <= lo and ticks[-1] >= hi and 2 <= len(ticks) <= 8
    steps = {round(b - a, 9) for a, b in itertools.pairwise(ticks)}
    assert len(steps) == 1


def test_time_ticks_pick_months_then_years():
    assert [label for _, label in charts.time_ticks(datetime(2026, 1, 5, tzinfo=UTC), datetime(2026, 5, 1, tzinfo=UTC))] == \
        ["Feb 2026", "Mar", "Apr", "May"]
    years = charts.time_ticks(datetime(2026, 11, 21, tzinfo=UTC), datetime(2031, 11, 22, tzinfo=UTC))
    assert [label for _, label in years] == ["2027", "2028", "2029", "2030", "2031"]


def test_rag_chart_has_a_row_per_party_and_overall_and_a_cell_per_status():
    # Week 4 is missing from the record (say, a status before an upgrade): its place stays empty.
    points = [weekly(n, Rag.green, Rag.amber if n == 2 else None)[1] for n in (1, 2, 3, 5, 6)]
    chart = charts.rag_chart([charts.Status(p.at - timedelta(days=2), p.review_id, p.overall.value if p.overall else None,
                                            {k: v.value if v else None for k, v in p.by_party.items()}) for p in points],
                             [("alpha", "Alpha Ltd"), ("beta", "Beta GmbH")])
    assert [r.label for r in chart.rows] == ["Alpha Ltd", "Beta GmbH", "Overall"]
    assert all(len(r.cells) == 5 for r in chart.rows)
    assert [c.status for c in chart.rows[1].cells] == ["none", "amber", "none", "none", "none"]
    assert chart.counts["Beta GmbH"] == {"green": 0, "amber": 1, "red": 0, "none": 4}
    cells = chart.rows[0].cells
    week = cells[0].width
    assert cells[0].x == chart.plot.left and cells[-1].x + cells[-1].width == pytest.approx(chart.plot.right, abs=0.02)
    assert [round((c.x - chart.plot.left) / week, 3) for c in cells] == [0, 1, 2, 4, 5]
    assert all(c.width == pytest.approx(week, abs=0.02) for c in cells)
    assert "week of 12 Jan 2026" in cells[0].tooltip


# --- the report -------------------------------------------------------------------------------


def test_report_shows_the_partnership_and_its_charts(definition, state):
    html = render_report(definition, state, "partnership-operating", NOW)
    doc = parse(html)
    assert "<script" not in html and "http://" not in html.replace("http://www.w3.org", "")
    assert doc.find("h1").text() == state.name  # the text, shown as text
    facts = doc.find("dl", "facts").text()
    for shown in ("Alpha Ltd", "Beta GmbH", "active", "term 1", "Monday 5 January 2026", "on track"):
        assert shown in facts

    chart = doc.find("figure", "metric-chart", data_metric="metric-1")
    points = chart.find("g", "points").find_all("circle", "point")
    assert [float(p.attrs["data-value"]) for p in points] == [4, 6, 5]
    ys = [p.num("cy") for p in points]
    slope = (ys[1] - ys[0]) / (6 - 4)
    intercept = ys[0] - slope * 4
    target = chart.find("line", "target")
    assert target.num("y1") == target.num("y2") == pytest.approx(slope * 10 + intercept, abs=0.05)
    assert float(target.attrs["data-value"]) == 10
    baseline = chart.find("line", "baseline")
    assert baseline.num("y1") == pytest.approx(slope * 2 + intercept, abs=0.05)
    assert "target 10" in chart.text() and "baseline 2" in chart.text()
    assert "5 referrals per month on" in points[-1].find("title").text()

    rag = doc.find("svg", "rag-chart")
    rows = {g.attrs["data-row"]: g for g in rag.find_all("g", "rag-row")}
    assert list(rows) == ["Alpha Ltd", "Beta GmbH", "Overall"]
    assert [c.attrs["class"] for c in rows["Beta GmbH"].find_all("rect", "cell")] == \
        ["cell rag-green", "cell rag-amber", "cell rag-none", "cell rag-green"]
    assert [c.attrs["class"].split()[1] for c in rows["Overall"].find_all("rect", "cell")] == \
        ["rag-green", "rag-amber", "rag-red", "rag-green"]


@pytest.mark.browser
async def test_long_party_names_fit_beside_the_rag_strip(definition, state, tmp_path):
    """In headless Chromium: a long party name is shortened with an ellipsis, not clipped at the
    chart's edge, and its full name is the label's tooltip; short names are shown whole."""
    from tests.support.browser import chromium, chromium_path
    from tests.support.report_checks import rag_labels

    long_name = "Brightline Data Services Gesellschaft mit beschränkter Haftung (Deutschland)"
    wide_name = "ＷＷＷＷＷＷＷＷＷＷＷＷ Ｗｉｄｅ Ｌｅｔｔｅｒｓ"
    definition.parties[0].name, definition.parties[1].name = long_name, wide_name
    report = tmp_path / "report.html"
    report.write_text(render_report(definition, state, "partnership-operating", NOW), encoding="utf-8")
    async with chromium(chromium_path()) as browser:
        page = await browser.new_page(viewport={"width": 1280, "height": 900})
        await page.goto(report.as_uri())
        labels = {label["row"]: label for label in await rag_labels(page)}
        await page.locator("figure.rag").screenshot(path=str(tmp_path / "rag.png"))
    assert list(labels) == [long_name, wide_name, "Overall"]
    assert labels[long_name]["shown"].endswith("…") and labels[wide_name]["shown"].endswith("…")
    assert labels["Overall"]["shown"] == "Overall"


def test_report_tables(definition, state):
    doc = parse(render_report(definition, state, "partnership-operating", NOW))
    reviews = doc.find("table", "reviews")
    monthly = reviews.find("tr", data_review="monthly-1").text()
    assert "Monthly operational review #1" in monthly and "1/2" in monthly and "Ben Beta" in monthly
    assert "0/1" in monthly and "Ship the playbook" in monthly
    annual = reviews.find("tr", data_review="annual_mutual_value-1").text()
    assert "imbalanced" in annual and "gap 2.67" in annual
    assert "monthly-2" not in [tr.attrs.get("data-review") for tr in reviews.find_all("tr")], "planned, not held"
    assert "Next planned: Monthly operational review #2" in doc.find("section", id="reviews").text()

    balance = doc.find("table", "balance").text()
    assert "Year 1" in balance and "3.00" in balance and "0.33" in balance
    assert len(doc.find("svg", "bar-chart").find_all("rect", "bar")) == 2

    escalations = doc.find("section", id="escalations").text()
    assert "red status" in escalations and "Weekly status is RED" in escalations and "open" in escalations
    decisions = doc.find("section", id="decisions").text()
    assert "Go/no-go decision" in decisions and decisions.count("Ann Alpha") >= 2 and "via email link" in decisions
    tasks = doc.find("section", id="tasks").text()
    assert "Referral playbook" in tasks and "overdue" in tasks
    assert "No amendments." in doc.find("section", id="amendments").text()


def test_report_escapes_every_text(definition, state):
    html = render_report(definition, state, "partnership-operating", NOW)
    assert XSS not in html
    assert "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;" in html
    assert html.count("&lt;script&gt;") >= 3  # name (title and h1), decision, escalation reason


def test_a_metric_without_observations_says_so(definition, state):
    state.metrics = {}
    doc = parse(render_report(definition, state, "partnership-operating", NOW))
    card = doc.find("div", "metric")
    assert "No observations yet" in card.find("p", "empty-metric").text()
    svg = card.find("svg", "line-chart")
    assert svg.find("text", "empty").text() == "No observations yet"
    assert not svg.find_all("g", "points") and svg.find_all("line", "target")


def test_a_partnership_in_screening_renders(definition):
    fresh = PartnershipState(partnership_id="operating", name="Referral partnership", chain_id="c",
                             started_at=LAUNCH, stage_started_at=LAUNCH)
    naive = LAUNCH.replace(tzinfo=None) + timedelta(days=1)  # taken as UTC
    doc = parse(render_report(definition, fresh, "partnership-operating", naive))
    assert "Tuesday 6 January 2026, 09:00 UTC" in doc.find("header").text()
    assert "not launched yet" in doc.find("dl", "facts").text()
    assert "No weekly statuses yet" in doc.find("svg", "rag-chart").text()
    assert "No annual mutual-value review yet." in doc.find("section", id="balance").text()


def test_the_report_shows_times_and_dates_in_the_readers_zone_named(definition):
    # 20:00 UTC on Monday 5 January is already Tuesday morning in Auckland (UTC+13 in summer).
    evening = datetime(2026, 1, 5, 20, 0, tzinfo=UTC)
    fresh = PartnershipState(partnership_id="operating", name="Referral partnership", chain_id="c",
                             started_at=evening, stage_started_at=evening)
    doc = parse(render_report(definition, fresh, "partnership-operating", evening, "Pacific/Auckland"))
    assert "generated Tuesday 6 January 2026, 09:00 NZDT (Pacific/Auckland)" in doc.find("header").text()
    assert "Tuesday 6 January 2026, 09:00 NZDT (Pacific/Auckland)" in doc.find("dl", "facts").text()
    assert doc.find("title").text().endswith("Tuesday 6 January 2026")  # the date where the reader is
    assert "UTC" not in doc.find("header").text() + doc.find("dl", "facts").text()
    # No zone: UTC, named as such.
    utc = parse(render_report(definition, fresh, "partnership-operating", evening))
    assert "generated Monday 5 January 2026, 20:00 UTC" in utc.find("header").text()
    assert utc.find("title").text().endswith("Monday 5 January 2026")


def test_write_reports_writes_both_files(definition, state, tmp_path):
    written = write_reports(definition, state, "partnership-operating", tmp_path / "out", NOW)
    assert written.report == tmp_path / "out" / "operating-report.html"
    assert written.audit == tmp_path / "out" / "operating-audit.json"
    assert written.report.read_text().startswith("<!doctype html>")
    assert json.loads(written.audit.read_text()) == json.loads(json.dumps(audit_export(definition, state,
                                                                                       "partnership-operating")))
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["operating-audit.json", "operating-report.html"]
