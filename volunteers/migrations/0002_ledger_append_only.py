"""The points ledger is append-only in the database itself, not only by convention.

A trigger refuses every UPDATE and DELETE of a ``volunteers_pointsentry`` row, whoever
issues it (the admin, a shell, a bug), so a balance can only ever move by a new entry and
a correction is always a visible reversal. PostgreSQL raises SQLSTATE 23000 and SQLite a
constraint error: both reach Django as ``IntegrityError``.

On SQLite a later migration that rebuilds this table drops its triggers with it; such a
migration must create them again (PostgreSQL keeps them through ALTER TABLE).
"""

from django.db import migrations

MESSAGE = "the points ledger is append-only: post a reversal entry instead"

POSTGRES_FORWARD = [
    f"""
    CREATE FUNCTION volunteers_points_entry_append_only() RETURNS trigger
    LANGUAGE plpgsql AS $$
    BEGIN
        RAISE EXCEPTION '{MESSAGE}' USING ERRCODE = '23000';
    END
    $$;
    """,
    """
    CREATE TRIGGER volunteers_points_entry_append_only
    BEFORE UPDATE OR DELETE ON volunteers_pointsentry
    FOR EACH ROW EXECUTE FUNCTION volunteers_points_entry_append_only();
    """,
]
POSTGRES_BACKWARD = [
    "DROP TRIGGER IF EXISTS volunteers_points_entry_append_only ON volunteers_pointsentry;",
    "DROP FUNCTION IF EXISTS volunteers_points_entry_append_only();",
]
SQLITE_FORWARD = [
    f"""
    CREATE TRIGGER volunteers_points_entry_no_update
    BEFORE UPDATE ON volunteers_pointsentry
    BEGIN SELECT RAISE(ABORT, '{MESSAGE}'); END;
    """,
    f"""
    CREATE TRIGGER volunteers_points_entry_no_delete
    BEFORE DELETE ON volunteers_pointsentry
    BEGIN SELECT RAISE(ABORT, '{MESSAGE}'); END;
    """,
]
SQLITE_BACKWARD = [
    "DROP TRIGGER IF EXISTS volunteers_points_entry_no_update;",
    "DROP TRIGGER IF EXISTS volunteers_points_entry_no_delete;",
]


def _run(schema_editor, statements: dict[str, list[str]]) -> None:
    for statement in statements.get(schema_editor.connection.vendor, []):
        schema_editor.execute(statement)


def forward(apps, schema_editor):
    _run(schema_editor, {"postgresql": POSTGRES_FORWARD, "sqlite": SQLITE_FORWARD})


def backward(apps, schema_editor):
    _run(schema_editor, {"postgresql": POSTGRES_BACKWARD, "sqlite": SQLITE_BACKWARD})


class Migration(migrations.Migration):
    dependencies = [("volunteers", "0001_teams_activities_points_shop_dual_registration")]
    operations = [migrations.RunPython(forward, backward)]
