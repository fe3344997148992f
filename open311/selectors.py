"""Reads of GeoReport v2: the services, their definitions, the public list of requests
and the timeline updates. Each list is a fixed number of queries whatever its length.

**What is public.** GeoReport lists every request of the jurisdiction to anyone, and our
tickets carry personal data, so the lists are built from non-personal fields only: never
a reporter's name, phone, email, account or device. Free text and the place
(description, status notes, address, coordinates, media link) are published only for
tickets that came in through a channel whose reporters publish on purpose
(``OPEN311_PUBLIC_CHANNELS``, by default Open311 alone) and that concern no household;
the other tickets appear with their service, status, handling grid and dates.
"""

from __future__ import annotations

from collections.abc import Iterable

from django.conf import settings
from django.core.exceptions import ObjectDoesNotExist
from django.db.models import (
    Case,
    Exists,
    F,
    OuterRef,
    Prefetch,
    Q,
    QuerySet,
    Subquery,
    TextField,
    Value,
    When,
)
from django.http import Http404
from django.utils.translation import gettext as _

from open311.models import Open311Request, ServiceAttribute
from open311.params import MAX_ROWS, Window
from tickets import states
from tickets.models import (
    Category,
    Channel,
    EventKind,
    Ticket,
    TicketEvent,
    TicketStatus,
    Whistle,
    WhistleStatus,
)

# The timeline events a civic app may mirror (no internal escalations, no links to
# other people's tickets).
PUBLIC_EVENTS = frozenset(
    {
        EventKind.OPENED,
        EventKind.DISPATCHED,
        EventKind.PUBLISHED,
        EventKind.CLAIMED,
        EventKind.ACCEPTED,
        EventKind.STARTED,
        EventKind.WHISTLED,
        EventKind.REPORTED_IN,
        EventKind.REPLIED,
        EventKind.SENT_TO_DELIBERATION,
        EventKind.RESOLVED,
        EventKind.RATED,
        EventKind.REOPENED,
        EventKind.REROUTED,
        EventKind.REJECTED,
        EventKind.MARKED_DUPLICATE,
        EventKind.CLOSED,
        EventKind.RETURNED,
    }
)
# Events whose note is written for the reporter, the public answer: the resolution, the
# reason for a rejection or a return to the hotline, a department's reply, a meeting's
# decision that closed it. Not public: dispatch and reopening notes (internal), ratings
# (the citizen's own words, which may name people).
PUBLIC_NOTES = frozenset(
    {
        EventKind.RESOLVED,
        EventKind.REJECTED,
        EventKind.REPLIED,
        EventKind.RETURNED,
        EventKind.CLOSED,
    }
)
# After these the earlier public note no longer explains the status.
NOTE_RESETS = frozenset({EventKind.REOPENED, EventKind.REROUTED})
DEFAULT_PUBLIC_CHANNELS = (Channel.OPEN311,)


def public_channels() -> frozenset[str]:
    return frozenset(getattr(settings, "OPEN311_PUBLIC_CHANNELS", DEFAULT_PUBLIC_CHANNELS))


def publishes_text(ticket: Ticket) -> bool:
    """Whether the ticket's free text and place are public (see the module's doc)."""
    return ticket.channel in public_channels() and ticket.household_id is None


def is_open(status: str) -> bool:
    """GeoReport knows open and closed: our open statuses are open; resolved (waiting
    for the rating), closed, rejected, duplicate and returned are closed."""
    return status in states.OPEN


def open311_of(ticket: Ticket) -> Open311Request | None:
    try:
        return ticket.open311
    except ObjectDoesNotExist:
        return None


# --- services ---------------------------------------------------------------------------------


def service_list() -> QuerySet[Category]:
    """Active categories in tree order, with their group, description and whether they
    ask questions: one query."""
    has_attributes = Exists(ServiceAttribute.objects.filter(category=OuterRef("pk")))
    return (
        Category.objects.filter(is_active=True)
        .select_related("parent", "open311_info")
        .annotate(has_attributes=has_attributes)
        .order_by("tree_id", "lft")
    )


def service_get(*, code: str) -> Category:
    category = Category.objects.filter(code=code, is_active=True).first()
    if category is None:
        raise Http404(_("There is no service %(code)s.") % {"code": code})
    return category


def service_attributes(*, category: Category) -> QuerySet[ServiceAttribute]:
    return ServiceAttribute.objects.filter(category=category).order_by("order", "pk")


# --- requests ---------------------------------------------------------------------------------


def _public_note() -> Subquery:
    """The note of the latest public-note event, or nothing when the ticket was reopened
    or re-routed since."""
    latest = (
        TicketEvent.objects.filter(ticket=OuterRef("pk"))
        .filter((Q(kind__in=PUBLIC_NOTES) & ~Q(note="")) | Q(kind__in=NOTE_RESETS))
        .annotate(
            public=Case(
                When(kind__in=NOTE_RESETS, then=Value("")),
                default=F("note"),
                output_field=TextField(),
            )
        )
        .order_by("-created_at", "-pk")
        .values("public")[:1]
    )
    return Subquery(latest, output_field=TextField())


def _request_rows(queryset: QuerySet[Ticket]) -> QuerySet[Ticket]:
    """Everything a request row shows, in two queries whatever the rows: the tickets
    with their category, grid, Open311 data, original and public note, then their
    whistles."""
    whistles = Whistle.objects.exclude(status=WhistleStatus.CANCELLED).select_related("department")
    return (
        queryset.select_related("category", "grid", "open311", "duplicate_of")
        .annotate(public_note=_public_note())
        .prefetch_related(
            Prefetch(
                "whistles",
                queryset=whistles.order_by("created_at", "pk"),
                to_attr="open311_whistles",
            )
        )
    )


def request_list(
    *,
    numbers: Iterable[str] = (),
    service_codes: Iterable[str] = (),
    window: Window | None = None,
    statuses: Iterable[str] = (),
) -> list[Ticket]:
    """The public list, newest first, at most 1000: the tickets with the given numbers
    (``service_request_id``, which overrides every other filter), else those requested
    in the window, of the given services and statuses (open/closed)."""
    numbers = list(numbers)
    queryset = Ticket.objects.all()
    if numbers:
        queryset = queryset.filter(number__in=numbers)
    else:
        if window is not None:
            queryset = queryset.filter(created_at__gte=window.start, created_at__lte=window.end)
        codes = list(service_codes)
        if codes:
            queryset = queryset.filter(category__code__in=codes)
        wanted = set(statuses)
        if wanted == {"open"}:
            queryset = queryset.filter(status__in=states.OPEN)
        elif wanted == {"closed"}:
            queryset = queryset.exclude(status__in=states.OPEN)
    return list(_request_rows(queryset).order_by("-created_at", "-pk")[:MAX_ROWS])


def request_get(*, number: str) -> Ticket:
    ticket = _request_rows(Ticket.objects.filter(number=number)).first()
    if ticket is None:
        raise Http404(_("There is no request %(number)s.") % {"number": number})
    return ticket


def request_by_token(*, token: str) -> Open311Request:
    found = Open311Request.objects.select_related("ticket").filter(token=token).first()
    if found is None:
        raise Http404(_("There is no request with this token."))
    return found


def agency_responsible(ticket: Ticket) -> str:
    """Who handles it: the departments while they lead a whistled ticket, else the grid."""
    whistles = getattr(ticket, "open311_whistles", None)
    if whistles is None:
        whistles = list(ticket.whistles.exclude(status=WhistleStatus.CANCELLED))
    if ticket.status == TicketStatus.WHISTLED and whistles:
        return "、".join(dict.fromkeys(whistle.department.name for whistle in whistles))
    return ticket.grid.name


# --- updates ----------------------------------------------------------------------------------


def update_list(*, window: Window, numbers: Iterable[str] = ()) -> list[TicketEvent]:
    """Public timeline events in the window, oldest first, at most 1000 (a client that
    got 1000 asks again from the last one's time): one query."""
    queryset = TicketEvent.objects.filter(
        kind__in=PUBLIC_EVENTS, created_at__gte=window.start, created_at__lte=window.end
    )
    numbers = list(numbers)
    if numbers:
        queryset = queryset.filter(ticket__number__in=numbers)
    return list(queryset.select_related("ticket").order_by("created_at", "pk")[:MAX_ROWS])
