"""Demo tickets for the demo communities (``manage.py seed_demo``), so that the dashboard,
the claim board and the archives have something to show.

Every ticket is opened and moved on through the real services (as the community's staff
account), then its whole history is moved back in time — the ticket's own timestamps and
those of its timeline together, so response and resolution times look like a real
month's work. Deterministic (seeded by the community's code); a community that already
has tickets is left alone.
"""

from __future__ import annotations

import datetime
import random
from collections.abc import Callable

from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils import timezone

from grids import scoping
from grids.models import Grid, GridLevel
from tickets import services
from tickets.models import Category, EventKind, Ticket, TicketEvent, TicketStatus

Log = Callable[[str], None]

TITLES = {
    "dispute": ("邻里噪音纠纷", "楼道堆物引发矛盾", "停车位纠纷"),
    "environment": ("垃圾清运不及时", "小区绿地被占", "楼道小广告"),
    "facility_repair": ("路灯不亮", "单元门禁损坏", "下水道堵塞", "健身器材损坏"),
    "safety_hazard": ("电动车楼道充电", "消防通道被占", "外墙瓷砖脱落"),
    "livelihood": ("独居老人需要代买药品", "申请低保咨询", "帮忙办理医保"),
}
# (fate, weight): how far each demo ticket gets
FATES = (
    ("satisfied", 55),
    ("basically", 10),
    ("unsatisfied", 5),
    ("in_progress", 12),
    ("open", 12),
    ("rejected", 6),
)
STAFF_SUFFIX = "_staff"
PLACES = {
    "632726": "dele",
    "540425": "jigong",
    "141029": "xiangning",
    "650204": "baijiantan",
    "150621": "wenyuan",
}
HOUR = datetime.timedelta(hours=1)


def _staff(community: Grid):
    """The place's community staff account when it works on this community, else the
    administrator (Baijiantan's staff account covers one of its four communities)."""
    key = PLACES.get(community.code[:6])
    staff = get_user_model().objects.filter(username=f"{key}{STAFF_SUFFIX}").first()
    if staff is not None and scoping.can_change(staff, community):
        return staff
    return get_user_model().objects.filter(is_superuser=True).order_by("pk").first()


def _leaves(community: Grid) -> list[Grid]:
    grids = community.get_descendants().filter(
        level__in=(GridLevel.ESTATE, GridLevel.MICRO), is_active=True
    )
    return [g for g in grids if g.is_leaf_node()] or [community]


def _open(rng, staff, grid: Grid, category: Category) -> Ticket:
    """A 12345 order taken by phone, or a problem the staff found on patrol."""
    hotline = rng.random() < 0.5
    return services.ticket_open(
        actor=staff,
        category=category,
        grid=grid,
        title=rng.choice(TITLES[category.code]),
        channel="hotline" if hotline else "patrol",
        reporter=None if hotline else staff,
        reporter_phone=f"1{rng.choice('3589')}{rng.randrange(10**9):09d}" if hotline else "",
    )


def _handler(ticket: Ticket, staff):
    if ticket.status == TicketStatus.CLAIMABLE:
        services.ticket_claim(actor=staff, ticket=ticket)
    elif ticket.status in (TicketStatus.SUBMITTED, TicketStatus.REOPENED):
        services.ticket_dispatch(actor=staff, ticket=ticket, assignee=staff)
    ticket.refresh_from_db()
    return ticket.assignee or staff


def _work(rng, ticket: Ticket, staff, fate: str) -> None:
    if fate == "open":
        return
    if fate == "rejected":
        services.ticket_reject(actor=staff, ticket=ticket, reason="不属于社区受理范围")
        return
    handler = _handler(ticket, staff)
    ticket.refresh_from_db()
    if ticket.status == TicketStatus.DISPATCHED:
        services.ticket_accept(actor=handler, ticket=ticket)
    services.ticket_start(actor=handler, ticket=ticket)
    if fate == "in_progress":
        return
    services.ticket_resolve(actor=handler, ticket=ticket, note="已处理完毕")
    rating = {
        "satisfied": "satisfied",
        "basically": "basically_satisfied",
        "unsatisfied": "unsatisfied",
    }[fate]
    services.ticket_rate(actor=staff, ticket=ticket, rating=rating)


def _backdate(rng, ticket: Ticket, start: datetime.datetime) -> None:
    """Move the ticket's history so it opened at ``start``, with human-sized gaps."""
    offsets = {
        EventKind.OPENED: datetime.timedelta(0),
        EventKind.DISPATCHED: rng.uniform(0.1, 1.0) * HOUR,
        EventKind.PUBLISHED: rng.uniform(0.1, 0.5) * HOUR,
        EventKind.CLAIMED: rng.uniform(0.5, 4.0) * HOUR,
        EventKind.ACCEPTED: rng.uniform(0.5, 6.0) * HOUR,
        EventKind.STARTED: rng.uniform(6.0, 10.0) * HOUR,
        EventKind.RESOLVED: rng.uniform(12.0, 96.0) * HOUR,
        EventKind.RATED: rng.uniform(100.0, 140.0) * HOUR,
        EventKind.REJECTED: rng.uniform(1.0, 8.0) * HOUR,
    }
    shift = {}
    for event in TicketEvent.objects.filter(ticket=ticket):
        moved = start + offsets.get(event.kind, datetime.timedelta(0))
        shift[event.kind] = moved
        TicketEvent.objects.filter(pk=event.pk).update(created_at=moved)
    delta = start - ticket.created_at
    responded = shift.get(EventKind.ACCEPTED) or shift.get(EventKind.CLAIMED)
    Ticket.objects.filter(pk=ticket.pk).update(
        created_at=start,
        respond_by=ticket.respond_by + delta,
        resolve_by=ticket.resolve_by + delta,
        responded_at=responded if ticket.responded_at else None,
        resolved_at=shift.get(EventKind.RESOLVED) if ticket.resolved_at else None,
        closed_at=(shift.get(EventKind.RATED) or shift.get(EventKind.REJECTED))
        if ticket.closed_at
        else None,
        rated_at=shift.get(EventKind.RATED) if ticket.rated_at else None,
    )


@transaction.atomic
def _seed_community(community: Grid, count: int, log: Log) -> int:
    rng = random.Random(f"tickets-{community.code}")
    staff = _staff(community)
    if staff is None:
        return 0
    categories = list(Category.objects.filter(code__in=TITLES, is_active=True))
    leaves = _leaves(community)
    now = timezone.now()
    for _ in range(count):
        fate = rng.choices([f for f, _w in FATES], [w for _f, w in FATES])[0]
        ticket = _open(rng, staff, rng.choice(leaves), rng.choice(categories))
        _work(rng, ticket, staff, fate)
        ticket.refresh_from_db()
        finished = fate in ("satisfied", "basically", "unsatisfied", "rejected")
        days_ago = rng.uniform(7 if finished else 0.2, 330 if finished else 20)
        _backdate(rng, ticket, now - datetime.timedelta(days=days_ago))
    return count


def seed_tickets(*, per_community: int, log: Log) -> int:
    """Tickets for every demo community that has none yet; returns how many were made."""
    from residents.demo import COMMUNITIES

    made = 0
    for spec in COMMUNITIES:
        community = Grid.objects.filter(code=spec.code).first()
        if community is None:
            continue
        if Ticket.objects.filter(
            grid__tree_id=community.tree_id,
            grid__lft__gte=community.lft,
            grid__rght__lte=community.rght,
        ).exists():
            log(f"  {community.name}: tickets already there, left as they are")
            continue
        n = _seed_community(community, per_community, log)
        log(f"  {community.name}: {n} tickets")
        made += n
    return made
