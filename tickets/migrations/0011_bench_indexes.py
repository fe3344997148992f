"""Indexes for a county-sized database (issue 8, ``make bench``); PostgreSQL only.

- ``ticket_open_overdue_since_idx``: when each open ticket is (or will be) overdue — its
  response deadline while nobody answered, else its resolution deadline — so the
  dashboard finds the tickets that became overdue since midnight without reading every
  open ticket (``governance.dashboard.selectors.overdue_since``);
- ``ticket_open_resolve_by_idx``: open tickets by resolution deadline, the order of a work
  list ("most urgent first", ``?ordering=resolve_by``), read page by page with the cursor;
- ``ticket_responded_idx`` / ``ticket_resolved_idx``: tickets by the moment they were
  answered / resolved, carrying the report time and the grid, so the response and
  resolution times of a period are ranked from the index alone.

They are partial, expression or covering indexes that the model's ``Meta`` does not
describe, so this migration creates and drops them itself (``makemigrations`` does not
see them).
"""

from django.db import migrations

OPEN = "('accepted', 'claimable', 'deliberation', 'dispatched', 'in_progress', 'reopened', 'submitted', 'whistled')"  # noqa: E501
INDEXES = {
    "ticket_open_overdue_since_idx": (
        "CREATE INDEX IF NOT EXISTS ticket_open_overdue_since_idx ON tickets_ticket "
        "((CASE WHEN responded_at IS NULL THEN respond_by ELSE resolve_by END)) "
        f"WHERE status IN {OPEN}"
    ),
    "ticket_open_resolve_by_idx": (
        "CREATE INDEX IF NOT EXISTS ticket_open_resolve_by_idx ON tickets_ticket "
        f"(resolve_by, id) WHERE status IN {OPEN}"
    ),
    "ticket_responded_idx": (
        "CREATE INDEX IF NOT EXISTS ticket_responded_idx ON tickets_ticket "
        "(responded_at) INCLUDE (created_at, grid_id) WHERE responded_at IS NOT NULL"
    ),
    "ticket_resolved_idx": (
        "CREATE INDEX IF NOT EXISTS ticket_resolved_idx ON tickets_ticket "
        "(resolved_at) INCLUDE (created_at, grid_id) WHERE resolved_at IS NOT NULL"
    ),
}


def create(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        for sql in INDEXES.values():
            schema_editor.execute(sql)


def drop(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        for name in INDEXES:
            schema_editor.execute(f"DROP INDEX IF EXISTS {name}")


class Migration(migrations.Migration):
    dependencies = [("tickets", "0010_integrations_fields")]
    operations = [migrations.RunPython(create, drop)]
