"""What a person sees in a status report and finds in an audit export: checks shared by the tests.

The report is opened in headless Chromium (Debian's, as in test_browser.py), screenshotted
whole, and the screenshot itself is read back (decoded by the same browser, on a canvas):
the target line, the observation points and the RAG cells must show in their colours
where the page put them.
"""

from __future__ import annotations

import base64
import json
from datetime import datetime
from pathlib import Path
from typing import Any

from pydantic import TypeAdapter

from accord.models import PartnershipState

# The report's colours (accord/reports/templates/report.css), as a screenshot shows them.
COLOURS = {
    "target": (180, 35, 24),
    "point": (29, 78, 216),
    "point-good": (6, 118, 71),
    "green": (18, 183, 106),
    "amber": (247, 144, 9),
    "red": (217, 45, 32),
    "none": (208, 213, 221),
}

# Decodes a PNG on a canvas; returns its size, how varied it is, and the colour at given points.
_READ_PNG = """async ({src, probes}) => {
  const img = new Image();
  img.src = src;
  await img.decode();
  const canvas = document.createElement('canvas');
  canvas.width = img.naturalWidth; canvas.height = img.naturalHeight;
  const ctx = canvas.getContext('2d', {willReadFrequently: true});
  ctx.drawImage(img, 0, 0);
  const data = ctx.getImageData(0, 0, canvas.width, canvas.height).data;
  const bg = [data[0], data[1], data[2]];
  const colours = new Set();
  let differ = 0, total = 0;
  for (let i = 0; i < data.length; i += 4 * 7) {
    total++;
    colours.add((data[i] >> 3) + ',' + (data[i + 1] >> 3) + ',' + (data[i + 2] >> 3));
    if (Math.abs(data[i] - bg[0]) + Math.abs(data[i + 1] - bg[1]) + Math.abs(data[i + 2] - bg[2]) > 30) differ++;
  }
  const at = (x, y) => {
    const i = (Math.round(y) * canvas.width + Math.round(x)) * 4;
    return [data[i], data[i + 1], data[i + 2]];
  };
  return {width: canvas.width, height: canvas.height, colours: colours.size, content: differ / total,
          probes: probes.map(([x, y]) => at(x, y))};
}"""


# Each RAG row's label as Chromium lays it out: where it starts (from the chart's left edge), what
# it shows and the full name its tooltip gives.
_RAG_LABELS = """() => [...document.querySelectorAll('svg.rag-chart g.rag-row')].map(row => {
  const svg = row.ownerSVGElement.getBoundingClientRect();
  const label = row.querySelector('text.row-label');
  const box = label.getBoundingClientRect();
  const title = label.querySelector('title');
  const lane = row.querySelector('rect.lane').getBoundingClientRect();
  return {row: row.dataset.row, left: box.left - svg.left, right: box.right - svg.left, width: box.width,
          strip: lane.left - svg.left,
          title: title ? title.textContent : null,
          shown: [...label.childNodes].filter(n => n.nodeType === Node.TEXT_NODE).map(n => n.textContent).join('')};
})"""


async def rag_labels(page: Any) -> list[dict[str, Any]]:
    """The RAG strip's row labels: each one drawn whole inside the chart (nothing clipped at its
    left edge, nothing over the strip) with the party's full name as its tooltip."""
    labels = await page.evaluate(_RAG_LABELS)
    assert labels, "no RAG rows"
    for label in labels:
        assert label["width"] > 0 and label["shown"], label
        assert label["left"] >= 0, f"the label {label['shown']!r} runs off the chart's left edge: {label}"
        assert label["right"] <= label["strip"], f"the label {label['shown']!r} runs into the strip: {label}"
        assert label["title"] == label["row"], label
        assert label["shown"] == label["row"] or (label["shown"].endswith("…")
                                                  and label["row"].startswith(label["shown"][:-1].rstrip())), label
    return labels


def near(rgb: list[int], colour: tuple[int, int, int], tolerance: int = 40) -> bool:
    return sum(abs(a - b) for a, b in zip(rgb, colour)) <= tolerance


async def look_at_report(html: Path, screenshot: Path, state: PartnershipState) -> None:
    """Open the report in Chromium, screenshot it whole, and check what it shows."""
    from playwright.async_api import expect

    from tests.support.browser import chromium, chromium_path

    executable = chromium_path()
    observations = state.metrics["referrals"].observations
    statuses = len(state.rag_history)
    async with chromium(executable) as browser:
        page = await browser.new_page(viewport={"width": 1280, "height": 900})
        # Nothing leaves the file: any request but the file itself would fail the test.
        requests: list[str] = []
        page.on("request", lambda r: requests.append(r.url))
        await page.goto(html.resolve().as_uri())
        await expect(page.get_by_role("heading", level=1)).to_have_text(state.name)

        # The metric chart: its target line labelled, one point per observation, all below the target.
        chart = page.locator("figure.metric-chart").first
        await expect(chart).to_be_visible()
        await expect(chart.get_by_role("img")).to_have_accessible_name("Qualified referrals")
        target = chart.locator("svg.line-chart line.target")
        await expect(chart.locator("g.reference.target text")).to_have_text("target 10")
        await expect(chart.locator("g.reference.target text")).to_be_visible()
        target_box = await target.bounding_box()
        plot_box = await chart.locator("svg.line-chart").bounding_box()
        assert target_box["width"] > plot_box["width"] * 0.7
        points = chart.locator("g.points circle")
        await expect(points).to_have_count(len(observations))
        point_boxes = [await points.nth(i).bounding_box() for i in range(len(observations))]
        for box in point_boxes:
            assert box["width"] > 4, "points are big enough to see"
            assert box["y"] > target_box["y"], "3 referrals a month is drawn below the target of 10"
        xs = [b["x"] for b in point_boxes]
        assert xs == sorted(xs) and xs[-1] - xs[0] > plot_box["width"] * 0.7, "points spread over five years"

        # The RAG chart: a row per party and the overall, one cell per weekly status.
        rows = page.locator("svg.rag-chart g.rag-row")
        await expect(rows).to_have_count(3)
        cell_boxes = []
        for i, label in enumerate(["Alpha Ltd", "Beta GmbH", "Overall"]):
            row = rows.nth(i)
            await expect(row).to_have_attribute("data-row", label)
            await expect(row.locator("rect.cell")).to_have_count(statuses)
        for colour in ("red", "amber"):
            cell = rows.nth(2).locator(f"rect.cell.rag-{colour}").first
            await expect(cell).to_be_visible()
            cell_boxes.append((colour, await cell.bounding_box()))
        await expect(rows.nth(1).locator("rect.cell.rag-none")).to_have_count(3)  # Beta's three silent weeks
        await rag_labels(page)
        await expect(page.locator("table.reviews tbody tr")).to_have_count(
            sum(1 for r in state.reviews.values() if r.opened_at and r.kind.value != "weekly_status"))

        await page.screenshot(path=str(screenshot), full_page=True)
        assert requests == [html.resolve().as_uri()], requests

        # Read the screenshot back: a real picture, with the chart's marks in their colours.
        probes = [(target_box["x"] + dx, target_box["y"] + target_box["height"] / 2)
                  for dx in range(0, int(target_box["width"]), 3)]
        probes += [(b["x"] + b["width"] / 2, b["y"] + b["height"] / 2) for b in point_boxes]
        probes += [(b["x"] + b["width"] / 2, b["y"] + b["height"] / 2) for _, b in cell_boxes]
        src = "data:image/png;base64," + base64.b64encode(screenshot.read_bytes()).decode()
        reader = await browser.new_page()
        seen = await reader.evaluate(_READ_PNG, {"src": src, "probes": probes})

    assert seen["width"] == 1280 and seen["height"] > 2000, (seen["width"], seen["height"])
    assert seen["colours"] > 40 and seen["content"] > 0.05, "the screenshot is not blank"
    along_target = seen["probes"][: len(probes) - len(point_boxes) - len(cell_boxes)]
    on_line = sum(near(rgb, COLOURS["target"]) for rgb in along_target) / len(along_target)
    assert on_line > 0.4, f"the dashed target line shows in its colour ({on_line:.0%} of it)"
    dots = seen["probes"][len(along_target): len(along_target) + len(point_boxes)]
    assert all(near(rgb, COLOURS["point"]) for rgb in dots), dots
    for (colour, _), rgb in zip(cell_boxes, seen["probes"][-len(cell_boxes):]):
        assert near(rgb, COLOURS[colour], 20), (colour, rgb)


def check_audit(path: Path, state: PartnershipState, workflow_id: str) -> dict[str, Any]:
    """The audit export holds every review, decision, escalation and observation, with times and actors."""
    text = path.read_text(encoding="utf-8")
    export = json.loads(text)
    assert json.loads(json.dumps(export)) == export
    assert export["format"] == "accord-audit/1" and export["workflow_id"] == workflow_id

    reviews = {r["id"]: r for r in export["reviews"]}
    assert set(reviews) == set(state.reviews)
    for review in state.reviews.values():
        exported = reviews[review.id]
        assert exported["scheduled_for"] and exported["opened_at"] == _iso(review.opened_at)
        for who, given in review.inputs.items():
            assert exported["inputs"][who]["at"] == _iso(given.at) and exported["inputs"][who]["stakeholder"] == who
    decisions = [(d.approval_id, d.actor, _iso(d.at)) for a in state.approvals.values() for d in a.decisions]
    assert sorted((d["approval_id"], d["actor"], d["at"]) for d in export["decisions"]) == sorted(decisions)
    assert len(decisions) >= 6  # go/no-go and two renewals, two approvers each
    assert [(e["id"], e["trigger"], e["opened_at"], e["raised_by"]) for e in export["escalations"]] == \
        [(e.id, e.trigger, _iso(e.opened_at), e.raised_by) for e in state.escalations]
    [metric] = export["metrics"]
    assert [(o["value"], o["at"], o["actor"]) for o in metric["observations"]] == \
        [(o.value, _iso(o.at), o.actor) for o in state.metrics["referrals"].observations]
    assert metric["baseline"] == state.metrics["referrals"].baseline and metric["baseline_at"]
    assert len(export["rag_history"]) == len(state.rag_history)
    return export


def _iso(value: datetime | None) -> str | None:
    """A time as the export writes it (pydantic's JSON form)."""
    return TypeAdapter(datetime | None).dump_python(value, mode="json")
