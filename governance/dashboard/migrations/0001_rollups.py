"""The dashboard's rollups: the table, and on PostgreSQL the facts functions and the
triggers that keep it current (``governance.dashboard.rollups`` and ``rollup_sql``).

On PostgreSQL the table is filled from the rows already there when the migration runs;
from then on the triggers keep it current. On SQLite the table stays empty and the
dashboard counts live.
"""

import django.db.models.deletion
from django.db import migrations, models


def install(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    from governance.dashboard import rollup_sql

    with schema_editor.connection.cursor() as cursor:
        rollup_sql.install_type(cursor)
        rollup_sql.install_functions(cursor)
        rollup_sql.install_triggers(cursor)
        rollup_sql.rebuild(cursor, None)


def uninstall(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    from governance.dashboard import rollup_sql

    with schema_editor.connection.cursor() as cursor:
        rollup_sql.uninstall(cursor)


class Migration(migrations.Migration):
    initial = True

    dependencies = [
        ("grids", "0002_history"),
        ("residents", "0004_visit_follow_up_ticket"),
        ("tickets", "0010_integrations_fields"),
    ]

    operations = [
        migrations.CreateModel(
            name="Rollup",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("child", models.BigIntegerField(default=0, verbose_name="child grid")),
                ("metric", models.CharField(max_length=12, verbose_name="metric")),
                ("day", models.DateField(verbose_name="day")),
                ("day2", models.DateField(verbose_name="second day")),
                (
                    "key",
                    models.CharField(blank=True, default="", max_length=40, verbose_name="key"),
                ),
                ("n", models.BigIntegerField(default=0, verbose_name="count")),
                ("total", models.BigIntegerField(default=0, verbose_name="total")),
                (
                    "grid",
                    models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="+",
                        to="grids.grid",
                        verbose_name="grid",
                    ),
                ),
            ],
            options={
                "verbose_name": "dashboard rollup",
                "verbose_name_plural": "dashboard rollups",
                "constraints": [
                    models.UniqueConstraint(
                        fields=("grid", "metric", "day", "day2", "child", "key"),
                        name="dashboard_rollup_cell",
                    )
                ],
            },
        ),
        migrations.CreateModel(
            name="RollupDelta",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("child", models.BigIntegerField(default=0, verbose_name="child grid")),
                ("metric", models.CharField(max_length=12, verbose_name="metric")),
                ("day", models.DateField(verbose_name="day")),
                ("day2", models.DateField(verbose_name="second day")),
                (
                    "key",
                    models.CharField(blank=True, default="", max_length=40, verbose_name="key"),
                ),
                ("n", models.BigIntegerField(default=0, verbose_name="count")),
                ("total", models.BigIntegerField(default=0, verbose_name="total")),
                (
                    "grid",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="+",
                        to="grids.grid",
                        verbose_name="grid",
                    ),
                ),
            ],
            options={
                "verbose_name": "pending rollup change",
                "verbose_name_plural": "pending rollup changes",
            },
        ),
        migrations.RunPython(install, uninstall),
    ]
