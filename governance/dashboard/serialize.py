"""The dashboard as plain data: the API's JSON and the charts' data island."""

from __future__ import annotations

import datetime
from dataclasses import asdict
from typing import Any

from governance.dashboard.selectors import Dashboard


def _plain(value: Any) -> Any:
    if isinstance(value, datetime.datetime | datetime.date):
        return value.isoformat()
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value


def as_json(d: Dashboard) -> dict[str, Any]:
    data = asdict(d)
    data["grid"] = {
        "id": d.grid.pk,
        "name": d.grid.name,
        "code": d.grid.code,
        "level": d.grid.level,
    }
    data["period"] = {"from": d.period.first_day, "to": d.period.last_day}
    return _plain(data)


def chart_data(d: Dashboard) -> dict[str, Any]:
    """What static/js/dashboard.js draws (read from a JSON data island, no inline script)."""
    return _plain(
        {
            "trend": {
                "labels": [r["label"] for r in d.trend],
                "opened": [r["opened"] for r in d.trend],
                "closed": [r["closed"] for r in d.trend],
            },
            "category": {
                "labels": [r["label"] for r in d.by_category],
                "counts": [r["count"] for r in d.by_category],
            },
            "status": {
                "labels": [r["label"] for r in d.by_status],
                "counts": [r["count"] for r in d.by_status],
            },
        }
    )
