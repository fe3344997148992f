"""Notifications: which event of a ticket tells whom (the table below), the inbox's reads
and writes, and the email that goes with each notification.

``tickets.services.steps.record_event`` queues ``notify_event_task(event_id)`` after the
commit of every event; the task calls ``notify_event``, which writes one ``Notification``
per recipient (a unique constraint and ``ignore_conflicts`` make a second run add
nothing), then emails each notification at most once (``emailed_at`` is claimed with a
conditional update before sending). Nobody is told about what they did themselves.

=====================  =================================================  ==============
event                  who is told                                        kind
=====================  =================================================  ==============
opened, re-routed,     the grid's dispatchers (nearest grid leader(s) and  to_dispatch
reopened, rated        community staff), when the category did not route
unsatisfied            it automatically at the same moment
dispatched             the person it was given to                         assigned
claimed, accepted      the reporter and the reporters of its duplicates   progress
whistled               the liaisons of each whistled department            whistled
reported in, replied   whoever whistled that department, and the assignee department
resolved               the reporter and the reporters of its duplicates   resolved
rated                  whoever resolved it, and the assignee               rated
reopened (staff)       the reporter, followers, and whoever resolved it   reopened
rejected               the reporter and the reporters of its duplicates   rejected
marked duplicate       the duplicate's reporter (now following the        duplicate
                       original)
escalated              the people of the level escalated to               escalated
=====================  =================================================  ==============

Published (the claim board is a list people look at), started, sent to deliberation,
duplicate linked and closed tell nobody. Reporters without an account (a phone number
only) get no notification here. Texts and emails are written in the site's language
(``LANGUAGE_CODE``), whatever language the request that caused them used.
"""

from __future__ import annotations

import datetime
import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.mail import send_mail
from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from grids.models import AssignmentRole, Grid, GridAssignment
from tickets import selectors
from tickets.escalation import ESCALATED, Ladder
from tickets.models import (
    EscalationDeadline,
    EscalationLevel,
    EventKind,
    Notification,
    NotificationKind,
    Rating,
    Ticket,
    TicketEvent,
    TicketStatus,
    Whistle,
)

logger = logging.getLogger(__name__)

# An event's own task normally runs within seconds of its commit; one still unnotified
# after this long lost its task (the broker was down) and is caught up.
CATCH_UP_GRACE = datetime.timedelta(minutes=2)
CATCH_UP_BATCH = 500

K = NotificationKind

# The system's routing moves: an event followed at the same instant by one of these was
# routed automatically, and the person it went to is told instead of the dispatchers.
ROUTING_KINDS = (
    EventKind.DISPATCHED,
    EventKind.PUBLISHED,
    EventKind.WHISTLED,
    EventKind.SENT_TO_DELIBERATION,
)


@dataclass(frozen=True)
class Recipient:
    user_id: int
    kind: str
    context: dict = field(default_factory=dict)  # recipient-specific parts of the text


def _when(moment: datetime.datetime | str | None) -> str:
    if isinstance(moment, str):
        moment = datetime.datetime.fromisoformat(moment)
    return timezone.localtime(moment).strftime("%Y-%m-%d %H:%M") if moment else ""


# --- who is told ---------------------------------------------------------------------------


def _followers(ticket: Ticket) -> list[int]:
    return list(selectors.ticket_followers(ticket=ticket).values_list("pk", flat=True))


def _dispatchers(grid: Grid) -> list[int]:
    """Who dispatches the grid's tickets: its nearest grid leader(s) and community staff
    (the first two rungs of the escalation ladder)."""
    ladder = Ladder(grid)
    return sorted(
        set(ladder.rung(EscalationLevel.GRID).people)
        | set(ladder.rung(EscalationLevel.COMMUNITY).people)
    )


def _liaisons(department_ids: Iterable[int]) -> dict[int, list[int]]:
    """Department id → the active liaisons assigned to it."""
    by_department: dict[int, list[int]] = {pk: [] for pk in department_ids}
    rows = (
        GridAssignment.objects.current()
        .filter(
            grid_id__in=list(by_department),
            role=AssignmentRole.DEPARTMENT_LIAISON,
            user__is_active=True,
        )
        .order_by("user_id")
        .values_list("grid_id", "user_id")
    )
    for grid_id, user_id in rows:
        by_department[grid_id].append(user_id)
    return by_department


def _resolver(event: TicketEvent) -> int | None:
    """Who resolved the ticket last before ``event`` (the assignee is cleared on reopen)."""
    return (
        TicketEvent.objects.filter(
            ticket_id=event.ticket_id, kind=EventKind.RESOLVED, pk__lt=event.pk
        )
        .order_by("-pk")
        .values_list("actor_id", flat=True)
        .first()
    )


def _routed_automatically(event: TicketEvent) -> bool:
    return TicketEvent.objects.filter(
        ticket_id=event.ticket_id,
        pk__gt=event.pk,
        created_at=event.created_at,
        actor__isnull=True,
        kind__in=ROUTING_KINDS,
    ).exists()


def _everyone(ids: Iterable[int | None], kind: str, **context) -> list[Recipient]:
    return [Recipient(pk, kind, context) for pk in ids if pk is not None]


def _waiting_for_dispatch(event: TicketEvent) -> list[Recipient]:
    if event.to_status not in (TicketStatus.SUBMITTED, TicketStatus.REOPENED):
        return []
    if _routed_automatically(event):
        return []
    return _everyone(_dispatchers(event.ticket.grid), K.TO_DISPATCH)


def _on_opened(event: TicketEvent) -> list[Recipient]:
    return _waiting_for_dispatch(event)


def _on_dispatched(event: TicketEvent) -> list[Recipient]:
    return _everyone([event.data.get("assignee")], K.ASSIGNED)


def _on_taken(event: TicketEvent) -> list[Recipient]:
    return _everyone(_followers(event.ticket), K.PROGRESS)


def _on_whistled(event: TicketEvent) -> list[Recipient]:
    whistles = {
        w.department_id: w
        for w in Whistle.objects.select_related("department").filter(
            pk__in=event.data.get("whistles", [])
        )
    }
    recipients: dict[int, Recipient] = {}
    for department_id, people in sorted(_liaisons(whistles).items()):
        whistle = whistles[department_id]
        context = {"department": whistle.department.name, "report_by": _when(whistle.report_by)}
        for user_id in people:
            recipients.setdefault(user_id, Recipient(user_id, K.WHISTLED, context))
    return list(recipients.values())


def _on_department(event: TicketEvent) -> list[Recipient]:
    whistle = (
        Whistle.objects.select_related("department").filter(pk=event.data.get("whistle")).first()
    )
    if whistle is None:
        return []
    ids = [whistle.whistled_by_id, event.ticket.assignee_id]
    return _everyone(ids, K.DEPARTMENT, department=whistle.department.name)


def _on_resolved(event: TicketEvent) -> list[Recipient]:
    return _everyone(_followers(event.ticket), K.RESOLVED)


def _on_rated(event: TicketEvent) -> list[Recipient]:
    rating = event.data.get("rating", "")
    told = _everyone([_resolver(event), event.ticket.assignee_id], K.RATED, rating=rating)
    if rating == Rating.UNSATISFIED:
        told += _waiting_for_dispatch(event)
    return told


def _on_reopened(event: TicketEvent) -> list[Recipient]:
    return _everyone(
        [*_followers(event.ticket), _resolver(event)], K.REOPENED
    ) + _waiting_for_dispatch(event)


def _on_rerouted(event: TicketEvent) -> list[Recipient]:
    return _waiting_for_dispatch(event)


def _on_rejected(event: TicketEvent) -> list[Recipient]:
    return _everyone(_followers(event.ticket), K.REJECTED)


def _on_marked_duplicate(event: TicketEvent) -> list[Recipient]:
    follower = event.data.get("follower") or {}
    return _everyone(
        [follower.get("reporter")], K.DUPLICATE, original=event.data.get("original_number", "")
    )


def _on_escalated(event: TicketEvent) -> list[Recipient]:
    return _everyone(event.data.get("recipients", []), K.ESCALATED)


AUDIENCE: dict[str, Callable[[TicketEvent], list[Recipient]]] = {
    EventKind.OPENED: _on_opened,
    EventKind.DISPATCHED: _on_dispatched,
    EventKind.CLAIMED: _on_taken,
    EventKind.ACCEPTED: _on_taken,
    EventKind.WHISTLED: _on_whistled,
    EventKind.REPORTED_IN: _on_department,
    EventKind.REPLIED: _on_department,
    EventKind.RESOLVED: _on_resolved,
    EventKind.RATED: _on_rated,
    EventKind.REOPENED: _on_reopened,
    EventKind.REROUTED: _on_rerouted,
    EventKind.REJECTED: _on_rejected,
    EventKind.MARKED_DUPLICATE: _on_marked_duplicate,
    ESCALATED: _on_escalated,
}


def recipients_for(event: TicketEvent) -> list[Recipient]:
    """Who is told about ``event``: one entry per person (the first reason wins), never
    the actor, only active users."""
    audience = AUDIENCE.get(event.kind)
    if audience is None:
        return []
    chosen: dict[int, Recipient] = {}
    for recipient in audience(event):
        if recipient.user_id != event.actor_id:
            chosen.setdefault(recipient.user_id, recipient)
    if not chosen:
        return []
    active = set(
        get_user_model()
        .objects.filter(pk__in=list(chosen), is_active=True)
        .values_list("pk", flat=True)
    )
    return [r for pk, r in sorted(chosen.items()) if pk in active]


# --- what they read ---------------------------------------------------------------------------


def _escalation_text(event: TicketEvent, values: dict) -> str:
    data = event.data
    values = {**values, "due": _when(data.get("missed"))}
    if data.get("deadline") == EscalationDeadline.REPORT_IN:
        department = Grid.objects.filter(pk=data.get("department")).first()
        values["department"] = department.name if department else ""
        return (
            _(
                "%(department)s did not report in on ticket %(number)s (%(title)s) by "
                "%(due)s; it is escalated to you at county level."
            )
            % values
        )
    deadline = data.get("deadline", "")
    values["deadline"] = (
        EscalationDeadline(deadline).label if deadline in EscalationDeadline.values else deadline
    )
    level = data.get("level", "")
    values["level"] = EscalationLevel(level).label if level in EscalationLevel.values else level
    return (
        _(
            "Ticket %(number)s (%(title)s) missed its deadline (%(deadline)s, due %(due)s); "
            "it is escalated to you (%(level)s)."
        )
        % values
    )


def notification_text(event: TicketEvent, recipient: Recipient) -> str:
    """The sentence the recipient reads, in the active language."""
    ticket = event.ticket
    values = {
        "number": ticket.number,
        "title": ticket.title,
        "grid": ticket.grid.name,
        "note": event.note,
        **recipient.context,
    }
    kind = recipient.kind
    if kind == K.TO_DISPATCH:
        return _("Ticket %(number)s (%(title)s) on %(grid)s is waiting to be dispatched.") % values
    if kind == K.ASSIGNED:
        values["respond_by"] = _when(ticket.respond_by)
        return (
            _("Ticket %(number)s (%(title)s) was given to you; respond by %(respond_by)s.") % values
        )
    if kind == K.WHISTLED:
        return (
            _(
                "Ticket %(number)s (%(title)s) was whistled to %(department)s; report in by "
                "%(report_by)s."
            )
            % values
        )
    if kind == K.DEPARTMENT:
        if event.kind == EventKind.REPORTED_IN:
            return _("%(department)s reported in on ticket %(number)s (%(title)s).") % values
        return _("%(department)s replied on ticket %(number)s (%(title)s): %(note)s") % values
    if kind == K.PROGRESS:
        values["person"] = str(event.actor) if event.actor else ""
        return _("Your report %(number)s (%(title)s) was taken on by %(person)s.") % values
    if kind == K.RESOLVED:
        return (
            _("Your report %(number)s (%(title)s) was resolved. Please rate how it was handled.")
            % values
        )
    if kind == K.RATED:
        rating = values.get("rating", "")
        values["rating"] = Rating(rating).label if rating in Rating.values else rating
        if rating == Rating.UNSATISFIED:
            return _("Ticket %(number)s (%(title)s) was rated %(rating)s and is reopened.") % values
        return _("Ticket %(number)s (%(title)s) was rated %(rating)s.") % values
    if kind == K.REOPENED:
        return _("Ticket %(number)s (%(title)s) was reopened.") % values
    if kind == K.REJECTED:
        return _("Your report %(number)s (%(title)s) was rejected: %(note)s") % values
    if kind == K.DUPLICATE:
        return (
            _(
                "Your report %(number)s (%(title)s) duplicates ticket %(original)s; you now "
                "follow that ticket."
            )
            % values
        )
    return _escalation_text(event, values)


# --- writes -----------------------------------------------------------------------------------


def _event(event_id: int) -> TicketEvent | None:
    return (
        TicketEvent.objects.select_related("ticket", "ticket__grid", "actor")
        .filter(pk=event_id)
        .first()
    )


@transaction.atomic
def notifications_create(*, event: TicketEvent) -> int:
    """Write the event's notifications; returns how many were new. Safe to run twice:
    the (event, recipient) constraint turns a repeat into nothing."""
    recipients = recipients_for(event)
    if not recipients:
        return 0
    before = Notification.objects.filter(event=event).count()
    with translation.override(settings.LANGUAGE_CODE):
        rows = [
            Notification(
                recipient_id=recipient.user_id,
                ticket_id=event.ticket_id,
                event=event,
                kind=recipient.kind,
                text=notification_text(event, recipient),
                created_at=event.created_at,
            )
            for recipient in recipients
        ]
    Notification.objects.bulk_create(rows, ignore_conflicts=True)
    return Notification.objects.filter(event=event).count() - before


def notification_email(*, notification: Notification) -> bool:
    """Email one notification, at most once: ``emailed_at`` is claimed by a conditional
    update first, so a second task (or a second worker) finds it taken and sends nothing.
    A failed send gives the claim back and raises, so a retry may send it."""
    email = notification.recipient.email
    if not email or not notification.recipient.is_active:
        return False
    now = timezone.now()
    claimed = Notification.objects.filter(pk=notification.pk, emailed_at__isnull=True).update(
        emailed_at=now
    )
    if not claimed:
        return False
    with translation.override(settings.LANGUAGE_CODE):
        subject = _("Grid governance: %(kind)s (%(number)s)") % {
            "kind": NotificationKind(notification.kind).label,
            "number": notification.ticket.number,
        }
    try:
        send_mail(subject, notification.text, settings.DEFAULT_FROM_EMAIL, [email])
    except Exception:
        Notification.objects.filter(pk=notification.pk, emailed_at=now).update(emailed_at=None)
        raise
    return True


def notify_event(*, event_id: int) -> int:
    """Tell everyone ``event`` concerns: the inbox rows, then their emails. Returns the
    number of emails sent. A missing event (never committed) is ignored; an email that
    fails is raised after the others were tried, for the task to retry."""
    event = _event(event_id)
    if event is None:
        return 0
    notifications_create(event=event)
    TicketEvent.objects.filter(pk=event.pk, notified_at__isnull=True).update(
        notified_at=timezone.now()
    )
    pending = (
        Notification.objects.filter(event=event, emailed_at__isnull=True)
        .exclude(recipient__email="")
        .select_related("recipient", "ticket")
        .order_by("pk")
    )
    sent, failure = 0, None
    for notification in pending:
        try:
            sent += notification_email(notification=notification)
        except Exception as exc:  # SMTP and socket errors alike: try the others first
            logger.warning("could not email notification %s: %s", notification.pk, exc)
            failure = failure or exc
    if failure is not None:
        raise failure
    return sent


def notifications_catch_up(
    *, now: datetime.datetime | None = None, limit: int = CATCH_UP_BATCH
) -> int:
    """The outbox's second chance: notify the events older than a grace period whose
    task never ran (lost while the broker was down). Returns how many were caught up.
    Safe beside the normal tasks: a notification exists once per event and recipient, and
    an email is claimed before it is sent."""
    now = now or timezone.now()
    stale = (
        TicketEvent.objects.filter(notified_at__isnull=True, created_at__lt=now - CATCH_UP_GRACE)
        .order_by("created_at", "pk")
        .values_list("pk", flat=True)[:limit]
    )
    caught = 0
    for event_id in list(stale):
        try:
            notify_event(event_id=event_id)
        except Exception:  # a mail server down: the inbox rows are written, mail retried later
            logger.warning("catch-up: emails of event %s not all sent", event_id, exc_info=True)
        caught += 1
    return caught


# --- the inbox (reads and the reader's writes) --------------------------------------------------


def notification_list(*, user, unread: bool | None = None) -> QuerySet[Notification]:
    """The user's own notifications, newest first; ``unread`` keeps the unread (True) or
    the read ones (False)."""
    if user is None or not user.is_authenticated:
        return Notification.objects.none()
    rows = Notification.objects.filter(recipient=user).select_related("ticket", "event")
    if unread is not None:
        rows = rows.filter(read_at__isnull=unread)
    return rows.order_by("-created_at", "-pk")


def notification_unread_count(*, user, cap: int | None = None) -> int:
    """How many of the user's notifications are unread (counted up to ``cap`` when given,
    so a page header never counts a neglected inbox's thousands). One query on the
    partial index of unread rows."""
    if user is None or not user.is_authenticated:
        return 0
    rows = Notification.objects.filter(recipient=user, read_at__isnull=True)
    if cap is not None:
        return rows.values("pk")[:cap].count()
    return rows.count()


@transaction.atomic
def notification_mark_read(*, user, notification: Notification) -> Notification:
    """Mark one of the user's own notifications read (again is harmless). Someone else's
    notification does not exist for the caller: ``Notification.DoesNotExist``."""
    mine = Notification.objects.filter(pk=notification.pk, recipient=user)
    if not mine.exists():
        raise Notification.DoesNotExist
    mine.filter(read_at__isnull=True).update(read_at=timezone.now())
    return mine.select_related("ticket", "event").get()


@transaction.atomic
def notification_mark_all_read(*, user) -> int:
    """Mark all of the user's unread notifications read; returns how many."""
    return Notification.objects.filter(recipient=user, read_at__isnull=True).update(
        read_at=timezone.now()
    )
