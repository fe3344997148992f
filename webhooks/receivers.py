"""Connects the webhooks outbox to the tickets' timeline (see ``tickets.signals``).

``event_recorded`` is sent inside the transaction that appends the event, so the
deliveries written here commit or roll back with the ticket's change; the network work
is queued for after the commit (``webhooks.outbox``).
"""

from __future__ import annotations

from django.dispatch import receiver

from tickets.models import TicketEvent
from tickets.signals import event_recorded, events_recorded
from webhooks import outbox


@receiver(event_recorded, sender=TicketEvent, dispatch_uid="webhooks.deliveries_create")
def write_deliveries(sender, event: TicketEvent, **kwargs) -> None:
    outbox.deliveries_create(event=event)


@receiver(events_recorded, sender=TicketEvent, dispatch_uid="webhooks.deliveries_create_many")
def write_many_deliveries(sender, events: list[TicketEvent], **kwargs) -> None:
    outbox.deliveries_create_many(events=events)
