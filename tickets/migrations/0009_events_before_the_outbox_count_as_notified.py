"""Events recorded before the outbox existed were notified by their own task: mark them,
so the catch-up does not notify them a second time."""

from django.db import migrations
from django.db.models import F


def mark(apps, schema_editor):
    TicketEvent = apps.get_model("tickets", "TicketEvent")
    TicketEvent.objects.filter(notified_at__isnull=True).update(notified_at=F("created_at"))


def unmark(apps, schema_editor):
    """Nothing to undo: the column goes away with the previous migration."""


class Migration(migrations.Migration):
    dependencies = [("tickets", "0008_event_notified_at")]
    operations = [migrations.RunPython(mark, unmark)]
