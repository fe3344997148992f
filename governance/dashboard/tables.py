"""The dashboard as named tables: what the xlsx and csv exports write, row for row the
same figures as the page and the API (all from ``selectors.dashboard_for``)."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from typing import Any

from django.utils.translation import gettext as _
from openpyxl import Workbook

from governance.dashboard.selectors import Dashboard


@dataclass
class Table:
    key: str
    title: str
    headers: list[str]
    rows: list[list[Any]]


def _na(value: Any) -> Any:
    return "" if value is None else value


def headline_rows(d: Dashboard) -> list[list[Any]]:
    t, p = d.tickets, d.people
    return [
        [_("Tickets opened"), t["opened"]],
        [_("Tickets closed"), t["closed"]],
        [_("Open now"), t["open_now"]],
        [_("Overdue now"), t["overdue_now"]],
        [_("Completion rate (%)"), _na(t["completion_rate"])],
        [_("On-time response rate (%)"), _na(t["on_time_response_rate"])],
        [_("On-time resolution rate (%)"), _na(t["on_time_resolution_rate"])],
        [_("Median response time (hours)"), _na(t["response_hours"]["median"])],
        [_("90th percentile response time (hours)"), _na(t["response_hours"]["p90"])],
        [_("Median resolution time (hours)"), _na(t["resolution_hours"]["median"])],
        [_("90th percentile resolution time (hours)"), _na(t["resolution_hours"]["p90"])],
        [_("Satisfaction rate (%)"), _na(t["satisfaction_rate"])],
        [_("Ratings"), t["ratings"]],
        [_("Reopened"), t["reopened"]],
        [_("Households"), p["households"]],
        [_("Residents"), p["residents"]],
        [_("Must-visit coverage (%)"), _na(p["must_visit_coverage"])],
        [_("Overdue visits"), p["visits_overdue"]],
        *[[str(label), _na(value)] for label, value in d.participation.get("rows", [])],
    ]


def dashboard_tables(d: Dashboard) -> list[Table]:
    figure, count = _("Figure"), _("Count")
    return [
        Table("headline", _("Headline figures"), [figure, _("Value")], headline_rows(d)),
        Table(
            "status",
            _("Tickets by status"),
            [_("Status"), count],
            [[r["label"], r["count"]] for r in d.by_status],
        ),
        Table(
            "category",
            _("Tickets by category"),
            [_("Category"), count],
            [[r["label"], r["count"]] for r in d.by_category],
        ),
        Table(
            "channel",
            _("Tickets by channel"),
            [_("Channel"), count],
            [[r["label"], r["count"]] for r in d.by_channel],
        ),
        Table(
            "ranking",
            _("Child grids"),
            [
                _("Grid"),
                _("Opened"),
                _("Closed"),
                _("Open now"),
                _("Overdue now"),
                _("Completion rate (%)"),
                _("Satisfaction rate (%)"),
            ],
            [
                [
                    r["name"],
                    r["opened"],
                    r["closed"],
                    r["open_now"],
                    r["overdue_now"],
                    _na(r["completion_rate"]),
                    _na(r["satisfaction_rate"]),
                ]
                for r in d.ranking
            ],
        ),
        Table(
            "trend",
            _("Trend"),
            [_("Period"), _("Tickets opened"), _("Tickets closed")],
            [[r["label"], r["opened"], r["closed"]] for r in d.trend],
        ),
        Table(
            "whistles",
            _("Whistles by department"),
            [
                _("Department"),
                _("Whistles"),
                _("Reported in"),
                _("Report-in rate (%)"),
                _("Mean report-in time (hours)"),
            ],
            [
                [
                    r["name"],
                    r["whistles"],
                    r["reported"],
                    _na(r["report_in_rate"]),
                    _na(r["mean_report_in_hours"]),
                ]
                for r in d.whistles
            ],
        ),
        Table(
            "key_groups",
            _("Key groups"),
            [_("Key group"), count],
            [[r["label"], r["count"]] for r in d.key_groups],
        ),
        Table(
            "campaigns",
            _("Campaigns in progress"),
            [_("Campaign"), _("Grid"), _("Households"), _("Visited"), _("Progress (%)")],
            [
                [c["title"], c["grid"], c["total"], c["done"], _na(c["progress"])]
                for c in d.campaigns
            ],
        ),
    ]


def as_xlsx(tables: list[Table]) -> bytes:
    workbook = Workbook(write_only=True)
    for table in tables:
        sheet = workbook.create_sheet(table.title[:31])
        sheet.append(table.headers)
        for row in table.rows:
            sheet.append(row)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def as_csv(table: Table) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(table.headers)
    writer.writerows(table.rows)
    return "\ufeff" + buffer.getvalue()  # a BOM so spreadsheet programs read UTF-8
