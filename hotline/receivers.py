"""The order follows its ticket: a ticket returned to the hotline (退单) through the
tickets API, page or admin marks its order returned with the reason; reopening it puts
the order back among the placed ones. Connected in ``HotlineConfig.ready``; runs inside
the transaction that records the event, so order and ticket never disagree."""

from __future__ import annotations

from django.utils import timezone

from hotline.models import HotlineOrder, OrderStatus
from tickets.models import EventKind, TicketStatus


def order_follows_ticket(sender, *, event, **kwargs) -> None:
    if event.kind == EventKind.RETURNED:
        HotlineOrder.objects.filter(ticket_id=event.ticket_id).update(
            status=OrderStatus.RETURNED,
            return_reason=event.note,
            returned_at=event.created_at,
            updated_at=timezone.now(),
        )
    elif event.from_status == TicketStatus.RETURNED:
        HotlineOrder.objects.filter(ticket_id=event.ticket_id).update(
            status=OrderStatus.PLACED, return_reason="", returned_at=None, updated_at=timezone.now()
        )
