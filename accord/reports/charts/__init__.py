"""The report's charts as geometry: where every line, point and cell goes, in SVG user units.

Written by hand rather than with a charting library. The report must be one file that
opens offline and prints, so a chart has to be plain inline SVG with no script: pygal
(the one server-side SVG library that fits) links its tooltip script from a CDN by
default and styles through its own CSS, and matplotlib is a heavy dependency for two
kinds of chart. What the report needs is small: a time axis, a value axis with round
ticks, a few horizontal reference lines, points, and a grid of cells. Keeping it as
data (this module) apart from markup (``templates/_charts.html.j2``) also lets tests
check that values land where they should without parsing pictures.

- :func:`metric_chart`: a metric's observations over time, its target and baseline lines.
- :func:`rag_chart`: the weekly RAG statuses as a strip per party plus the overall one.
- :func:`balance_chart`: each annual mutual-value review's benefit-to-contribution ratio per party.

One module each (``metric``, ``rag``, ``balance``), sharing the axes and scales (``axes``);
this package re-exports what the report and the tests use.
"""

from accord.reports.charts.axes import (
    HEIGHT,
    WIDTH,
    LinearScale,
    Plot,
    Reference,
    Tick,
    TimeScale,
    nice_ticks,
    number,
    time_ticks,
)
from accord.reports.charts.balance import Balance, Bar, BarChart, Group, balance_chart
from accord.reports.charts.metric import (
    LineChart,
    Marker,
    Observation,
    Point,
    metric_chart,
)
from accord.reports.charts.rag import (
    Cell,
    Row,
    Status,
    StripChart,
    fit,
    rag_chart,
    text_width,
)

__all__ = [
    "HEIGHT", "WIDTH", "Balance", "Bar", "BarChart", "Cell", "Group", "LineChart", "LinearScale", "Marker",
    "Observation", "Plot", "Point", "Reference", "Row", "Status", "StripChart", "Tick", "TimeScale",
    "balance_chart", "fit", "metric_chart", "nice_ticks", "number", "rag_chart", "text_width", "time_ticks",
]
