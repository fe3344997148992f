"""Scoped reads of 12345 orders: the list (whoever sees the order's area) and the export
(the area's staff, who send the results back to the hotline)."""

from __future__ import annotations

import datetime

from django.db.models import DateTimeField, OuterRef, Q, QuerySet, Subquery
from django.db.models.functions import Coalesce
from django.utils import timezone

from grids import scoping
from hotline.models import HotlineImport, HotlineOrder
from tickets.models import EventKind, TicketEvent


def order_list(*, user) -> QuerySet[HotlineOrder]:
    return scoping.filter_visible(
        HotlineOrder.objects.select_related("area", "ticket", "category"), user, via="area"
    )


def _latest_note(kind: str) -> Subquery:
    events = TicketEvent.objects.filter(ticket_id=OuterRef("ticket_id"), kind=kind).exclude(note="")
    return Subquery(events.order_by("-created_at", "-pk").values("note")[:1])


def _day_start(day: datetime.date) -> datetime.datetime:
    return timezone.make_aware(datetime.datetime.combine(day, datetime.time.min))


def orders_for_export(
    *,
    user,
    date_from: datetime.date | None = None,
    date_to: datetime.date | None = None,
    changed_since: datetime.datetime | None = None,
) -> QuerySet[HotlineOrder]:
    """The orders the user may report back on, oldest call first: those of the areas
    they change. ``date_from``/``date_to`` (local days, both included) filter the call
    time (the time received when the hotline gave none); ``changed_since`` keeps orders
    whose row or ticket changed since then (the hotline's incremental pull). Each row
    carries the latest resolution and closing notes (one query for the whole export)."""
    orders = scoping.filter_changeable(HotlineOrder.objects.all(), user, via="area")
    orders = orders.select_related("ticket", "ticket__duplicate_of", "category").annotate(
        called_or_received=Coalesce("called_at", "received_at", output_field=DateTimeField()),
        resolved_note=_latest_note(EventKind.RESOLVED),
        closed_note=_latest_note(EventKind.CLOSED),
    )
    if date_from is not None:
        orders = orders.filter(called_or_received__gte=_day_start(date_from))
    if date_to is not None:
        orders = orders.filter(
            called_or_received__lt=_day_start(date_to + datetime.timedelta(days=1))
        )
    if changed_since is not None:
        orders = orders.filter(
            Q(updated_at__gte=changed_since) | Q(ticket__updated_at__gte=changed_since)
        )
    return orders.order_by("called_or_received", "pk")


def import_jobs(*, user) -> QuerySet[HotlineImport]:
    """A person's own imports (the report names callers' orders: only its uploader reads it)."""
    return HotlineImport.objects.filter(created_by_id=user.pk).select_related("area")
