"""Builders for categories and tickets. Everything goes through the services, so a ticket
in a given state got there the way production gets there (with its timeline)."""

from __future__ import annotations

import datetime
import itertools

from tests.grids.factories import superuser
from tickets import services
from tickets.models import Category, Rating, Route, Ticket, TicketStatus

_codes = itertools.count(1)
_orders = itertools.count(1)


def make_category(
    *,
    name: str | None = None,
    code: str | None = None,
    route: str = Route.WORKER,
    respond: datetime.timedelta = datetime.timedelta(hours=1),
    resolve: datetime.timedelta = datetime.timedelta(days=1),
    report: datetime.timedelta = datetime.timedelta(hours=2),
    auto_dispatch: bool = False,
    anonymous: bool = False,
    department=None,
    parent: Category | None = None,
) -> Category:
    number = next(_codes)
    return services.category_create(
        actor=superuser(),
        name=name or f"类别{number}",
        code=code or f"test-{number}",
        parent=parent,
        respond_within=respond,
        resolve_within=resolve,
        report_within=report,
        default_route=route,
        department=department,
        auto_dispatch=auto_dispatch,
        allows_anonymous=anonymous,
    )


def open_ticket(*, category: Category, grid=None, reporter=None, actor=None, **kwargs) -> Ticket:
    """A ticket reported by ``reporter`` (entered by ``actor``, by default the reporter)."""
    values = {"title": "路灯不亮", "channel": "api", **kwargs}
    if reporter is None and "reporter_phone" not in values:
        values["reporter_phone"] = "13800138000"
    return services.ticket_open(
        actor=actor or reporter or superuser(),
        reporter=reporter,
        category=category,
        grid=grid,
        **values,
    )


def hotline_order(*, category: Category, grid, actor=None, **kwargs) -> Ticket:
    """A 12345 order as the hotline passes it on: no account, the caller's phone, the
    hotline's own order number (unique per channel)."""
    values = {
        "channel": "hotline",
        "reporter_phone": "13800138000",
        "reporter_name": "张先生",
        "external_number": f"12345-{next(_orders):06d}",
        **kwargs,
    }
    return open_ticket(category=category, grid=grid, reporter=None, actor=actor, **values)


def ticket_in(
    status: str,
    *,
    category: Category,
    grid,
    reporter,
    assignee,
    department=None,
    original: Ticket | None = None,
    channel: str = "api",
) -> Ticket:
    """A ticket brought into ``status`` through the transitions a community would use:
    dispatched or accepted by ``assignee``, whistled to ``department``, reported by
    ``reporter``. The category should not dispatch automatically. ``channel="hotline"``
    makes it a 12345 order (no reporter: staff rate it after calling back); *returned*
    (退单) is always one."""
    root = superuser()
    s = TicketStatus
    if channel == "hotline" or status == s.RETURNED:
        reporter = None
        ticket = hotline_order(category=category, grid=grid)
    else:
        ticket = open_ticket(category=category, grid=grid, reporter=reporter)
    if status == s.SUBMITTED:
        pass
    elif status == s.RETURNED:
        services.ticket_return(actor=root, ticket=ticket, reason="不属于本辖区，退回12345")
    elif status == s.CLAIMABLE:
        services.ticket_dispatch(actor=root, ticket=ticket, claim_board=True)
    elif status == s.WHISTLED:
        services.ticket_dispatch(actor=root, ticket=ticket, departments=[department])
    elif status == s.DELIBERATION:
        services.ticket_send_to_deliberation(actor=root, ticket=ticket)
    elif status == s.REJECTED:
        services.ticket_reject(actor=root, ticket=ticket, reason="不属于本社区事务")
    elif status == s.DUPLICATE:
        if original is None and reporter is None:
            original = hotline_order(category=category, grid=grid)
        original = original or open_ticket(category=category, grid=grid, reporter=reporter)
        services.ticket_mark_duplicate(actor=root, ticket=ticket, original=original)
    else:
        services.ticket_dispatch(actor=root, ticket=ticket, assignee=assignee)
        if status != s.DISPATCHED:
            _work_through(status, ticket=ticket, reporter=reporter, assignee=assignee)
    ticket.refresh_from_db()
    assert ticket.status == status, (ticket.status, status)
    return ticket


def _work_through(status: str, *, ticket: Ticket, reporter, assignee) -> None:
    s = TicketStatus
    services.ticket_accept(actor=assignee, ticket=ticket)
    if status == s.ACCEPTED:
        return
    services.ticket_start(actor=assignee, ticket=ticket)
    if status == s.IN_PROGRESS:
        return
    services.ticket_resolve(actor=assignee, ticket=ticket)
    if status == s.RESOLVED:
        return
    rating = Rating.UNSATISFIED if status == s.REOPENED else Rating.SATISFIED
    # staff rate for a caller without an account, after calling back
    services.ticket_rate(actor=reporter or superuser(), ticket=ticket, rating=rating)
