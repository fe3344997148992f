"""网格吹哨、部门报到: a grid whistles a ticket to departments (industry grids); each
reports in within the category's window and replies on the ticket's timeline.

Locks are taken ticket first, then the whistle, as every transition does.
"""

from __future__ import annotations

from collections.abc import Iterable

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from governance.errors import Conflict
from grids.models import Grid
from tickets import permissions, states
from tickets.models import EventKind, Ticket, Whistle, WhistleStatus
from tickets.services.steps import (
    check_departments,
    check_transition,
    lock_ticket,
    record_event,
    save_fields,
    whistle_departments,
)


@transaction.atomic
def ticket_whistle(*, actor, ticket: Ticket, departments: Iterable[Grid], note: str = "") -> Ticket:
    """A grid leader or community staff calls departments in; each must report in within
    the category's report-in window."""
    ticket = lock_ticket(ticket)
    check_transition("whistle", ticket, actor)
    chosen = check_departments(ticket, departments)
    whistle_departments(ticket, chosen, actor=actor, now=timezone.now(), note=note)
    return ticket


def lock_whistle(whistle: Whistle) -> tuple[Ticket, Whistle]:
    ticket_id = Whistle.objects.values_list("ticket_id", flat=True).get(pk=whistle.pk)
    ticket = lock_ticket(ticket_id)
    whistle = (
        Whistle.objects.select_for_update(of=("self",))
        .select_related("department")
        .get(pk=whistle.pk)
    )
    return ticket, whistle


def _refuse_cancelled(whistle: Whistle) -> None:
    if whistle.status == WhistleStatus.CANCELLED:
        raise Conflict(_("This whistle was withdrawn."), code="invalid_state")


def _require_department(actor, whistle: Whistle) -> None:
    if not permissions.can_act_for_department(actor, whistle):
        raise PermissionDenied(_("Only the whistled department can do this."))


@transaction.atomic
def whistle_report_in(*, actor, whistle: Whistle, note: str = "") -> Whistle:
    """部门报到: the department acknowledges; it counts as the ticket's first response."""
    ticket, whistle = lock_whistle(whistle)
    _refuse_cancelled(whistle)
    if whistle.status != WhistleStatus.PENDING:
        raise Conflict(_("This department has already reported in."), code="invalid_state")
    if ticket.status not in states.OPEN:
        raise Conflict(_("This ticket is no longer being handled."), code="invalid_state")
    _require_department(actor, whistle)
    now = timezone.now()
    whistle.status, whistle.reported_at, whistle.reported_by = WhistleStatus.REPORTED, now, actor
    whistle.save(update_fields=["status", "reported_at", "reported_by"])
    if ticket.responded_at is None:
        ticket.responded_at = now
        save_fields(ticket, "responded_at")
    record_event(
        ticket,
        actor=actor,
        kind=EventKind.REPORTED_IN,
        from_status=ticket.status,
        now=now,
        note=note,
        data={
            "whistle": whistle.pk,
            "department": whistle.department_id,
            "late": now > whistle.report_by,
        },
    )
    return whistle


@transaction.atomic
def whistle_reply(*, actor, whistle: Whistle, reply: str) -> Whistle:
    """The department says what it did; each reply joins the ticket's timeline."""
    reply = (reply or "").strip()
    if not reply:
        raise ValidationError({"reply": _("Write the department's reply.")})
    ticket, whistle = lock_whistle(whistle)
    _refuse_cancelled(whistle)
    if whistle.status == WhistleStatus.PENDING:
        raise Conflict(_("Report in before replying."), code="invalid_state")
    if ticket.status not in states.WHISTLE_ACTIVE_TICKET:
        raise Conflict(_("This ticket is no longer being handled."), code="invalid_state")
    _require_department(actor, whistle)
    now = timezone.now()
    whistle.status, whistle.reply = WhistleStatus.REPLIED, reply
    whistle.replied_at, whistle.replied_by = now, actor
    whistle.save(update_fields=["status", "reply", "replied_at", "replied_by"])
    record_event(
        ticket,
        actor=actor,
        kind=EventKind.REPLIED,
        from_status=ticket.status,
        now=now,
        note=reply,
        data={"whistle": whistle.pk, "department": whistle.department_id},
    )
    return whistle
