"""Signals other apps listen to, so that tickets never imports them.

``event_recorded`` is sent by ``tickets.services.steps.record_event`` (``events_recorded``,
with a list, by ``record_events`` for events appended together) inside the
transaction that appends the event: a receiver that writes rows (the webhooks' outbox)
commits or rolls back with the change itself. Receivers must not do network work here;
they queue it with ``governance.queueing.enqueue_on_commit``.
"""

from django.dispatch import Signal

# sender=TicketEvent, event=<TicketEvent>
event_recorded = Signal()

# sender=TicketEvent, events=[<TicketEvent>, ...]: appended together, in one statement
events_recorded = Signal()
