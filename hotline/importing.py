"""A hotline file, row by row: the dry run and the real run.

Each row is read (``hotline.columns``), recognised (order number, else fingerprint) and
decided (``hotline.services.decide``). The same order twice in one file: the **last**
line wins (a later line is the later state of the order) and the earlier ones are
reported as duplicates, written nowhere. The dry run writes nothing; the real run
decides each row again under its lock (the data may have moved since the dry run) and
writes it (``services.receive_order``). Unchanged rows write nothing at all: importing
the same file twice opens no ticket, appends no event and touches no ``updated_at``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

from grids.models import Grid
from hotline import services
from hotline.columns import OrderValues, describe_errors, read_values
from hotline.matching import Matcher
from hotline.models import HotlineOrder

Progress = Callable[[int, int], None]
PLAN_PROGRESS_EVERY = 200
APPLY_PROGRESS_EVERY = 20


@dataclass
class RowPlan:
    line: int
    action: str
    reason: str = ""
    number: str = ""
    values: OrderValues | None = None
    grid: str = ""
    ticket: str = ""

    def as_report(self) -> dict[str, Any]:
        return {
            "line": self.line,
            "action": self.action,
            "number": self.number,
            "reason": self.reason,
            "grid": self.grid,
            "ticket": self.ticket,
        }


@dataclass
class Plan:
    rows: list[RowPlan] = field(default_factory=list)

    def counts(self) -> dict[str, int]:
        counts = dict.fromkeys(services.ACTIONS, 0)
        for row in self.rows:
            counts[row.action] += 1
        counts["written"] = sum(counts[a] for a in services.WRITING)
        return counts

    def report(self) -> list[dict[str, Any]]:
        return [row.as_report() for row in self.rows]


def read_rows(rows: list[dict[str, Any] | None]) -> Plan:
    """Read every row; refuse the unreadable ones; mark earlier lines of an order that
    appears again as duplicates (the last line wins)."""
    plan = Plan()
    last_line: dict[str, int] = {}
    for line, row in enumerate(rows, start=2):  # line 1 is the header
        if row is None:
            continue
        try:
            values = read_values(row)
        except ValidationError as exc:
            number = str(row.get("number") or "").strip()
            plan.rows.append(RowPlan(line, services.REFUSED, describe_errors(exc), number[:64]))
            continue
        plan.rows.append(RowPlan(line, "", number=values.number, values=values))
        last_line[values.key] = line
    for row in plan.rows:
        if row.values is not None and last_line[row.values.key] != row.line:
            row.action = services.DUPLICATE
            row.reason = _(
                "The same order appears again on line %(line)d; that later line is used."
            ) % {"line": last_line[row.values.key]}
    return plan


def _known_orders(plan: Plan) -> tuple[dict[str, HotlineOrder], dict[str, HotlineOrder]]:
    numbers = [r.values.number for r in plan.rows if r.values and r.values.number]
    prints = [r.values.fingerprint for r in plan.rows if r.values and not r.values.number]
    by_number: dict[str, HotlineOrder] = {}
    by_print: dict[str, HotlineOrder] = {}
    orders = HotlineOrder.objects.select_related("area", "ticket")
    for start in range(0, len(numbers), 5000):  # stay under SQLite's parameter limit
        for order in orders.filter(number__in=numbers[start : start + 5000]):
            by_number[order.number] = order
    for start in range(0, len(prints), 5000):
        for order in orders.filter(fingerprint__in=prints[start : start + 5000]):
            by_print[order.fingerprint] = order
    return by_number, by_print


def plan_import(
    rows: list[dict[str, Any] | None], *, user, area: Grid, progress: Progress | None = None
) -> Plan:
    """The dry run: what each row would do and why, without writing anything."""
    plan = read_rows(rows)
    matcher = Matcher(user=user, area=area)
    by_number, by_print = _known_orders(plan)
    pending = [r for r in plan.rows if not r.action]
    for index, row in enumerate(pending, start=1):
        values = row.values
        if values.number:
            existing = by_number.get(values.number)
        else:
            existing = by_print.get(values.fingerprint)
        decision = services.decide(values, existing, matcher, user)
        row.action, row.reason = decision.action, decision.reason
        placement = decision.placement
        if placement is not None and placement.grid is not None:
            row.grid = placement.grid.name
        if existing is not None and existing.ticket_id is not None:
            row.ticket = existing.ticket.number
        if progress and index % PLAN_PROGRESS_EVERY == 0:
            progress(index, len(pending))
    if progress:
        progress(len(pending), len(pending))
    return plan


def apply_import(
    rows: list[dict[str, Any] | None], *, user, area: Grid, progress: Progress | None = None
) -> Plan:
    """The real run: every readable row that is not superseded is received in its own
    transaction; the report says what each one did."""
    plan = read_rows(rows)
    matcher = Matcher(user=user, area=area)
    pending = [r for r in plan.rows if not r.action]
    for index, row in enumerate(pending, start=1):
        received = services.receive_order(actor=user, area=area, values=row.values, matcher=matcher)
        row.action, row.reason = received.action, received.reason
        if received.grid is not None:
            row.grid = received.grid.name
        if received.ticket is not None:
            row.ticket = received.ticket.number
        if progress and index % APPLY_PROGRESS_EVERY == 0:
            progress(index, len(pending))
    if progress:
        progress(len(pending), len(pending))
    return plan
