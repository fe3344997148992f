"""Reads of tickets shared by the API, the admin and (later) pages and dashboards.

Visibility is the grid scope (``grids.scoping``) widened by what a person has to do with
a ticket outside it: the reporter and whoever entered it follow their own tickets, the
reporter of a duplicate follows its original, and a department sees what was whistled to
it (网格吹哨、部门报到).
"""

from __future__ import annotations

import datetime
import json
from collections.abc import Mapping
from typing import Any

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.db import connection
from django.db.models import (
    DateTimeField,
    Exists,
    Field,
    OuterRef,
    Prefetch,
    Q,
    QuerySet,
)
from django.db.models.expressions import RawSQL
from django.db.models.query import ModelIterable
from django.http import QueryDict
from django.utils import timezone

from grids import scoping
from grids.models import Grid, GridKind, GridLevel
from residents.models import PartyMember
from tickets import claimers
from tickets.deadlines import auto_close_after
from tickets.filters import TicketFilter
from tickets.models import Ticket, TicketEvent, TicketStatus, Whistle, WhistleStatus
from volunteers.models import DualRegistration, Volunteer


def _involvement(user) -> Q:
    """Tickets the user is part of, whatever their grid scope."""
    if user is None or not user.is_authenticated:
        return Q(pk__in=[])
    scope = scoping.scope_for(user)
    # departments are industry grids: the set is usually empty or tiny, and the database
    # then reads the whistles through their department's index
    departments = scoping.filter_visible(Grid.objects.filter(kind=GridKind.INDUSTRY), user)
    whistled_here = Whistle.objects.filter(
        department__in=departments.values("pk"), ticket=OuterRef("pk")
    ).exclude(status=WhistleStatus.CANCELLED)
    followed = Ticket.objects.filter(duplicate_of=OuterRef("pk"), reporter=user)
    condition = Q(reporter=user) | Q(created_by=user) | Exists(followed)
    # volunteers and party members see the claim board of the communities they serve, and
    # what they claimed there (an assignee without a role there otherwise sees nothing)
    if user.is_active:
        condition |= (Q(status=TicketStatus.CLAIMABLE) | Q(assignee=user)) & _served(user)
    if not scope.is_empty:
        condition |= Exists(whistled_here)
    return condition


def _table(model) -> str:
    return connection.ops.quote_name(model._meta.db_table)


def _served(user) -> Exists:
    """Tickets on a community the user serves: the communities of
    ``tickets.claimers.served_communities`` (an active volunteer registration, an open
    dual registration, a party organization's grid, each at or below a community), as a
    condition of the list's own query instead of three queries run for every list.
    Communities do not nest, so the community above a grid is the only one containing
    it; the condition only runs for rows outside the user's grid scope."""
    inside = {
        "tree_id": OuterRef("tree_id"),
        "lft__gte": OuterRef("lft"),
        "rght__lte": OuterRef("rght"),
    }

    def within(path: str) -> dict:
        return {f"{path}__{key}": value for key, value in inside.items()}

    served = Grid.objects.filter(
        level=GridLevel.COMMUNITY,
        tree_id=OuterRef("grid__tree_id"),
        lft__lte=OuterRef("grid__lft"),
        rght__gte=OuterRef("grid__rght"),
    ).filter(
        Exists(Volunteer.objects.filter(user=user, is_active=True, **within("grid")))
        | Exists(
            DualRegistration.objects.filter(
                party_member__user=user, ended_on__isnull=True, **within("grid")
            )
        )
        | Exists(PartyMember.objects.filter(user=user, **within("organization__grid")))
    )
    return Exists(served)


# PostgreSQL reads a page's whistles inside the page's own query (``_WithWhistles``), with
# SQL written once, at import, not composed with the ORM for every list: the ticket list
# is the most frequent request there is. ``tickets_ticket`` is the list query's base
# table, which Django always names after the table.
_TICKET, _GRID = _table(Ticket), _table(Grid)
_WHISTLE_FIELDS = [f.attname for f in Whistle._meta.concrete_fields]
_DEPARTMENT_FIELDS = ["id", "name", "code", "kind", "level", "tree_id", "lft", "rght", "depth"]
_PERSON_FIELDS = ["id", "username", "full_name"]


def _json_object(alias: str, fields: list[str]) -> str:
    pairs = ", ".join(f"'{f}', {alias}.{f}" for f in fields)
    return f"json_build_object({pairs})"


def _person(alias: str) -> str:
    return f"CASE WHEN {alias}.id IS NULL THEN NULL ELSE {_json_object(alias, _PERSON_FIELDS)} END"


_WHISTLE_COLUMNS = {f.attname: f.column for f in Whistle._meta.concrete_fields}
_USER = _table(get_user_model())
_WHISTLE_ROWS_SQL = f"""ARRAY(
    SELECT json_build_object(
        {", ".join(f"'{f}', w.{_WHISTLE_COLUMNS[f]}" for f in _WHISTLE_FIELDS)},
        'department_row', {_json_object("d", _DEPARTMENT_FIELDS)},
        'reported_by_row', {_person("r")},
        'replied_by_row', {_person("a")})
    FROM {_table(Whistle)} w
    JOIN {_GRID} d ON d.id = w.department_id
    LEFT JOIN {_USER} r ON r.id = w.reported_by_id
    LEFT JOIN {_USER} a ON a.id = w.replied_by_id
    WHERE w.ticket_id = {_TICKET}.id
    ORDER BY w.created_at, w.id)"""


def _whistle_rows() -> RawSQL:
    """The ticket's whistles (oldest first) as JSON objects, with what a row shows of the
    department and of the people who reported and replied."""
    return RawSQL(_WHISTLE_ROWS_SQL, (), output_field=Field())


def _parse(field, value):
    if value is None:
        return None
    if isinstance(field, DateTimeField):
        return datetime.datetime.fromisoformat(value)
    return value


def _instance(model, names: list[str], data: dict):
    """A model instance with the fields ``names`` from ``data`` (others deferred);
    ``from_db`` takes the values in the model's field order."""
    fields = [f for f in model._meta.concrete_fields if f.attname in names]
    return model.from_db(
        "default", [f.attname for f in fields], [_parse(f, data[f.attname]) for f in fields]
    )


class _WithWhistles(ModelIterable):
    """Ticket rows whose whistles came in the row (``whistle_rows``), handed to
    ``ticket.whistles.all()`` as a prefetch would: same instances, same relations."""

    def __iter__(self):
        user_model = get_user_model()
        for ticket in super().__iter__():
            whistles = []
            for data in ticket.__dict__.pop("whistle_rows") or []:
                if isinstance(data, str):
                    data = json.loads(data)
                whistle = _instance(Whistle, _WHISTLE_FIELDS, data)
                cache = whistle._state.fields_cache
                cache["ticket"] = ticket
                cache["department"] = _instance(Grid, _DEPARTMENT_FIELDS, data["department_row"])
                for role in ("reported_by", "replied_by"):
                    person = data[f"{role}_row"]
                    cache[role] = (
                        _instance(user_model, _PERSON_FIELDS, person)
                        if person and person.get("id") is not None
                        else None
                    )
                whistles.append(whistle)
            prefetched = ticket.whistles.all()
            prefetched._result_cache = whistles
            prefetched._prefetch_done = True
            ticket._prefetched_objects_cache = {"whistles": prefetched}
            yield ticket


def whistles_in_row() -> bool:
    """Whether a ticket list reads its whistles inside its own query (PostgreSQL)."""
    return connection.vendor == "postgresql"


def _with_relations(queryset: QuerySet[Ticket]) -> QuerySet[Ticket]:
    """Everything a ticket row shows, in a fixed number of queries whatever the rows: one
    on PostgreSQL (the whistles ride in each row), two elsewhere (a prefetch)."""
    queryset = queryset.select_related(
        "grid", "category", "reporter", "assignee", "created_by", "duplicate_of"
    ).defer("grid__boundary")  # a polygon per row, which no ticket shape shows
    if whistles_in_row():
        queryset = queryset.annotate(whistle_rows=_whistle_rows())
        queryset._iterable_class = _WithWhistles
        return queryset
    return queryset.prefetch_related(
        Prefetch(
            "whistles",
            # the whistle's people too: a reported whistle shows who reported and replied
            queryset=Whistle.objects.select_related(
                "department", "reported_by", "replied_by"
            ).order_by("created_at", "pk"),
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
    # the scope as "the ticket's grid is one of the scope's grids" (a hashed set of ids
    # the database checks while it walks an index in the list's order) rather than as
    # bounds of the joined grid, which would make it join every candidate row first
    in_scope = scoping.filter_visible(Grid.objects.all(), user).values("pk")
    return Ticket.objects.filter(Q(grid__in=in_scope) | _involvement(user))


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
