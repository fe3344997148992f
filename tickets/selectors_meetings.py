"""Reads of deliberation meetings (网格议事) shared by the API, the admin and the dashboards.

A meeting is visible when its grid is (``grids.scoping``), and so are its agenda items.
The list filter is defined here once for the API's query parameters and for code
(``meeting_list(filters=...)``), as ``tickets.filters`` does for tickets.
"""

from __future__ import annotations

import datetime
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from django.core.exceptions import ValidationError
from django.db.models import Count, Exists, OuterRef, Prefetch, Q, QuerySet
from django.utils.translation import gettext_lazy as _
from django_filters import rest_framework as filters

from grids import scoping
from grids.models import Grid
from tickets.models import (
    AgendaItem,
    Decision,
    Meeting,
    MeetingStatus,
    MeetingTier,
    Ticket,
    TicketStatus,
)
from tickets.selectors import _as_query


def _follow_ups() -> Prefetch:
    """Follow-up tickets in the order the decision opened them."""
    return Prefetch(
        "follow_ups",
        queryset=Ticket.objects.only("pk", "number", "title", "status").order_by("pk"),
    )


class MeetingFilter(filters.FilterSet):
    grid = filters.NumberFilter(method="filter_subtree", label=_("Grid (with its whole subtree)"))
    tier = filters.MultipleChoiceFilter(choices=MeetingTier.choices)
    status = filters.MultipleChoiceFilter(choices=MeetingStatus.choices)
    scheduled = filters.DateFromToRangeFilter(
        field_name="scheduled_at", label=_("Scheduled between")
    )
    held = filters.DateFromToRangeFilter(field_name="held_at", label=_("Held between"))

    class Meta:
        model = Meeting
        fields = ["grid", "tier", "status", "scheduled", "held"]

    def filter_subtree(self, queryset: QuerySet[Meeting], name: str, value) -> QuerySet[Meeting]:
        """Meetings anywhere under the grid; the rows are already scoped."""
        grid = Grid.objects.filter(pk=value).only("tree_id", "lft", "rght").first()
        if grid is None:
            return queryset.none()
        return queryset.filter(
            grid__tree_id=grid.tree_id, grid__lft__gte=grid.lft, grid__rght__lte=grid.rght
        )


def meeting_visible(*, user) -> QuerySet[Meeting]:
    """Every meeting the user may see: its grid is in their scope."""
    return scoping.filter_visible(Meeting.objects.all(), user, via="grid")


def _items_prefetch() -> Prefetch:
    return Prefetch(
        "items",
        queryset=AgendaItem.objects.select_related("ticket", "proposer", "decided_by")
        .prefetch_related(_follow_ups())
        .order_by("order"),
    )


def meeting_list(
    *, user, filters: Mapping[str, Any] | None = None, with_items: bool = False
) -> QuerySet[Meeting]:
    """The meetings the user may see, latest first, with counts of attendees and items;
    ``with_items`` adds the agenda, attendees and follow-ups (a fixed number of queries
    whatever the rows). Bad filters raise ``ValidationError``."""
    queryset = (
        meeting_visible(user=user)
        .select_related("grid", "chaired_by", "created_by")
        .annotate(
            attendee_count=Count("attendees", distinct=True),
            item_count=Count("items", distinct=True),
        )
        .order_by("-scheduled_at", "-pk")
    )
    if with_items:
        queryset = queryset.prefetch_related("attendees", _items_prefetch())
    if filters:
        filterset = MeetingFilter(data=_as_query(filters), queryset=queryset)
        if not filterset.is_valid():
            raise ValidationError(filterset.errors)
        queryset = filterset.qs
    return queryset


def agenda_item_list(*, user) -> QuerySet[AgendaItem]:
    """Agenda items of the meetings the user may see."""
    return (
        scoping.filter_visible(AgendaItem.objects.all(), user, via="meeting__grid")
        .select_related("meeting", "meeting__grid", "ticket", "proposer", "decided_by")
        .prefetch_related(_follow_ups())
        .order_by("meeting_id", "order")
    )


def deliberation_tickets(*, meeting: Meeting) -> QuerySet[Ticket]:
    """Tickets that could go onto this meeting's agenda: in deliberation on its grid or
    below, and not on an open agenda already; the longest waiting first."""
    grid = meeting.grid
    open_items = AgendaItem.objects.filter(
        ticket=OuterRef("pk"), decision="", withdrawn_at__isnull=True
    )
    return (
        Ticket.objects.filter(
            status=TicketStatus.DELIBERATION,
            grid__tree_id=grid.tree_id,
            grid__lft__gte=grid.lft,
            grid__rght__lte=grid.rght,
        )
        .exclude(Exists(open_items))
        .select_related("grid", "category")
        .order_by("created_at", "pk")
    )


# --- figures for the dashboards -----------------------------------------------------------------


@dataclass(frozen=True)
class DeliberationFigures:
    """Seed 004's "24 venues, 56 sessions, 53 issues solved", for a subtree and period."""

    sessions_held: int
    venues: int
    items_decided: int
    items_adopted: int
    sessions_by_tier: dict[str, int] = field(default_factory=dict)


def deliberation_figures(
    *, grid: Grid, start: datetime.datetime, end: datetime.datetime
) -> DeliberationFigures:
    """Meetings held in ``[start, end)`` on ``grid``'s subtree and their items decided in
    the same period (an item counts when it is decided, whenever its meeting was held).
    Three queries whatever the size of the subtree; the caller checks the user may see
    ``grid``. Issues solved (解决问题) are the adopted items."""
    in_subtree = {
        "grid__tree_id": grid.tree_id,
        "grid__lft__gte": grid.lft,
        "grid__rght__lte": grid.rght,
    }
    held = Meeting.objects.filter(
        status=MeetingStatus.HELD, held_at__gte=start, held_at__lt=end, **in_subtree
    )
    tiers = {tier: Count("pk", filter=Q(tier=tier)) for tier in MeetingTier.values}
    meetings = held.aggregate(sessions=Count("pk"), **tiers)
    # a venue is a named place of a grid: two estates' "小区议事站" are two venues
    venues = held.exclude(venue="").values("grid_id", "venue").distinct().count()
    items = AgendaItem.objects.filter(
        decided_at__gte=start,
        decided_at__lt=end,
        **{f"meeting__{key}": value for key, value in in_subtree.items()},
    ).aggregate(
        decided=Count("pk"),
        adopted=Count("pk", filter=Q(decision=Decision.ADOPTED)),
    )
    return DeliberationFigures(
        sessions_held=meetings["sessions"],
        venues=venues,
        items_decided=items["decided"],
        items_adopted=items["adopted"],
        sessions_by_tier={tier: meetings[tier] for tier in MeetingTier.values},
    )
