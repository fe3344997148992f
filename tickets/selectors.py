"""Reads of tickets shared by the API, the admin and (later) pages and dashboards.

Visibility is the grid scope (``grids.scoping``) widened by what a person has to do with
a ticket outside it: the reporter and whoever entered it follow their own tickets, the
reporter of a duplicate follows its original, and a department sees what was whistled to
it (网格吹哨、部门报到).
"""

from __future__ import annotations

import datetime
from collections.abc import Mapping
from typing import Any

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.db.models import Exists, OuterRef, Prefetch, Q, QuerySet
from django.http import QueryDict
from django.utils import timezone

from grids import scoping
from grids.models import Grid, GridKind
from tickets import claimers
from tickets.deadlines import auto_close_after
from tickets.filters import TicketFilter
from tickets.models import Ticket, TicketEvent, TicketStatus, Whistle, WhistleStatus


def _involvement(user) -> Q:
    """Tickets the user is part of, whatever their grid scope."""
    if user is None or not user.is_authenticated:
        return Q(pk__in=[])
    scope = scoping.scope_for(user)
    whistled_here = Whistle.objects.filter(
        scope.q(via="department"), ticket=OuterRef("pk")
    ).exclude(status=WhistleStatus.CANCELLED)
    followed = Ticket.objects.filter(duplicate_of=OuterRef("pk"), reporter=user)
    condition = Q(reporter=user) | Q(created_by=user) | Exists(followed)
    # volunteers and party members see the claim board of the communities they serve, and
    # what they claimed there (an assignee without a role there otherwise sees nothing)
    served = claimers.serve_q(user)
    condition |= (Q(status=TicketStatus.CLAIMABLE) | Q(assignee=user)) & served
    if not scope.is_empty:
        condition |= Exists(whistled_here)
    return condition


def _with_relations(queryset: QuerySet[Ticket]) -> QuerySet[Ticket]:
    """Everything a ticket row shows, in a fixed number of queries whatever the rows."""
    return queryset.select_related(
        "grid", "category", "reporter", "assignee", "created_by", "duplicate_of"
    ).prefetch_related(
        Prefetch(
            "whistles",
            queryset=Whistle.objects.select_related("department").order_by("created_at", "pk"),
        )
    )


def ticket_with_relations(*, pk: int) -> Ticket:
    """One ticket with everything its API shape shows, unscoped: for the answer to a write
    the caller was allowed to make."""
    return _with_relations(Ticket.objects.all()).get(pk=pk)


def ticket_visible(*, user) -> QuerySet[Ticket]:
    """Every ticket the user may see (not yet filtered, not yet joined)."""
    if user is None or not user.is_authenticated:
        return Ticket.objects.none()
    scope = scoping.scope_for(user)
    if scope.is_global:
        return Ticket.objects.all()
    return Ticket.objects.filter(scope.q(via="grid") | _involvement(user))


def _as_query(filters: Mapping[str, Any]) -> QueryDict:
    """Query parameters from a plain mapping (``{"status": ["a", "b"], "grid": grid}``),
    so code and the API filter with the same filter set."""
    if isinstance(filters, QueryDict):
        return filters
    query = QueryDict(mutable=True)
    for key, value in filters.items():
        values = value if isinstance(value, list | tuple | set) else [value]
        query.setlist(key, [str(getattr(v, "pk", v)) for v in values])
    return query


def ticket_list(*, user, filters: Mapping[str, Any] | None = None) -> QuerySet[Ticket]:
    """The tickets the user may see, newest first, optionally filtered with the API's
    query parameters (``status``, ``category``, ``channel``, ``grid`` = subtree,
    ``overdue``, ``created_after``/``created_before``); bad filters raise
    ``ValidationError``."""
    queryset = _with_relations(ticket_visible(user=user)).order_by("-created_at", "-pk")
    if filters:
        filterset = TicketFilter(data=_as_query(filters), queryset=queryset)
        if not filterset.is_valid():
            raise ValidationError(filterset.errors)
        queryset = filterset.qs
    return queryset


def claim_board(*, user) -> QuerySet[Ticket]:
    """党员接单: claimable tickets the user could claim, the most urgent first: those of
    the user's grid scope and of the communities they serve (``permissions.can_claim``)."""
    scope = scoping.scope_for(user)
    queryset = Ticket.objects.filter(status=TicketStatus.CLAIMABLE).filter(
        scope.q(via="grid") | claimers.serve_q(user)
    )
    return _with_relations(queryset).order_by("resolve_by", "pk")


def ticket_timeline(*, ticket: Ticket) -> QuerySet[TicketEvent]:
    """The ticket's events, oldest first (the caller has checked the ticket is visible)."""
    return ticket.events.select_related("actor").order_by("created_at", "pk")


def whistle_list(*, user) -> QuerySet[Whistle]:
    """Whistles of tickets the user sees by grid, or to departments in the user's scope."""
    queryset = Whistle.objects.select_related("ticket", "department", "reported_by", "replied_by")
    scope = scoping.scope_for(user)
    if scope.is_global:
        return queryset.order_by("-created_at", "-pk")
    if scope.is_empty:
        return queryset.none()
    return queryset.filter(scope.q(via="ticket__grid") | scope.q(via="department")).order_by(
        "-created_at", "-pk"
    )


def ticket_departments(*, ticket: Ticket) -> QuerySet[Grid]:
    """The departments a ticket can be whistled to: active industry grids of its county.
    Shown to whoever may whistle, although their own scope may not reach the county."""
    return Grid.objects.filter(
        kind=GridKind.INDUSTRY, is_active=True, tree_id=ticket.grid.tree_id
    ).order_by("lft")


def ticket_followers(*, ticket: Ticket) -> QuerySet:
    """Who follows a ticket: its reporter and the reporters of its duplicates (for the
    notifications to come)."""
    duplicates = Ticket.objects.filter(duplicate_of=ticket).values("reporter")
    return get_user_model().objects.filter(
        Q(pk=ticket.reporter_id) | Q(pk__in=duplicates), is_active=True
    )


def tickets_due_for_auto_close(*, now: datetime.datetime | None = None) -> QuerySet[Ticket]:
    """Resolved tickets whose rating window has passed, oldest first."""
    cutoff = (now or timezone.now()) - auto_close_after()
    return Ticket.objects.filter(status=TicketStatus.RESOLVED, resolved_at__lte=cutoff).order_by(
        "resolved_at", "pk"
    )
