"""Bulk writing of the synthetic county: ``COPY`` on PostgreSQL (psycopg 3's
``cursor.copy``), ``bulk_create`` on SQLite.

Rows are plain tuples in the order of the field names the caller declares; every other
concrete field of the model takes its default, computed once per load. Primary keys are
chosen by the builder (``Ids``) so rows can point at each other before anything is
written, and the sequences are moved past them afterwards (``reset_sequences``).

During a PostgreSQL load the session runs with ``session_replication_role = replica``:
foreign-key checks and user triggers (the dashboard's rollups, kept by triggers) are
skipped, because the builder writes consistent rows and the rollups are rebuilt in one
pass at the end. Unique indexes and check constraints still hold.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from django.core.management.color import no_style
from django.db import connection, models

Log = Callable[[str], None]
NOT_PROVIDED = object()


class Ids:
    """The next free primary key of each model (max + 1 when the build starts)."""

    def __init__(self) -> None:
        self._next: dict[type[models.Model], int] = {}

    def take(self, model: type[models.Model], count: int = 1) -> int:
        """Reserve ``count`` consecutive ids; returns the first."""
        if model not in self._next:
            top = model._default_manager.order_by("-pk").values_list("pk", flat=True).first()
            self._next[model] = (top or 0) + 1
        first = self._next[model]
        self._next[model] = first + count
        return first


def _default(field: models.Field) -> Any:
    if isinstance(field, models.DateTimeField) and (field.auto_now or field.auto_now_add):
        from django.utils import timezone

        return timezone.now()
    if field.has_default():
        return field.get_default()
    if field.null:
        return None
    if field.blank and isinstance(field, models.CharField | models.TextField):
        return ""
    raise ValueError(f"{field.model.__name__}.{field.name} needs a value")


class Loader:
    """Writes rows model by model and reports progress."""

    def __init__(self, log: Log) -> None:
        self.log = log
        self.counts: dict[str, int] = {}
        self.models: set[type[models.Model]] = set()
        self.is_postgres = connection.vendor == "postgresql"
        self._replica = False

    def __enter__(self) -> Loader:
        if self.is_postgres:
            try:
                with connection.cursor() as cursor:
                    cursor.execute("SET session_replication_role = replica")
                self._replica = True
            except Exception:  # not a superuser: load with checks and triggers on (slower)
                self.log("  (no superuser: loading with foreign-key checks and triggers on)")
        return self

    def __exit__(self, exc_type, *exc) -> None:
        # after an error the transaction is rolled back, and the SET with it
        if self._replica and exc_type is None:
            with connection.cursor() as cursor:
                cursor.execute("SET session_replication_role = DEFAULT")

    @property
    def triggers_fired(self) -> bool:
        """Whether the database's triggers saw the rows (then the rollups are current)."""
        return self.is_postgres and not self._replica

    def load(
        self,
        model: type[models.Model],
        names: Sequence[str],
        rows: Iterable[Sequence[Any]],
        *,
        label: str | None = None,
    ) -> int:
        """Write ``rows`` (tuples in the order of ``names``, attribute names such as
        ``grid_id``); returns how many were written."""
        fields = {f.attname: f for f in model._meta.concrete_fields}
        unknown = set(names) - set(fields)
        if unknown:
            raise ValueError(f"{model.__name__} has no fields {sorted(unknown)}")
        rest = [f for name, f in fields.items() if name not in names]
        rest_values = tuple(_default(f) for f in rest)
        started = time.monotonic()
        if self.is_postgres:
            count = self._copy(model, [fields[n] for n in names], rest, rest_values, rows)
        else:
            count = self._bulk_create(model, names, rest, rest_values, rows)
        elapsed = time.monotonic() - started
        self.models.add(model)
        key = label or model._meta.label
        self.counts[key] = self.counts.get(key, 0) + count
        rate = count / elapsed if elapsed else 0
        self.log(f"  {key}: {count:,} rows in {elapsed:.1f} s ({rate:,.0f}/s)")
        return count

    def _copy(self, model, declared, rest, rest_values, rows) -> int:
        all_fields = [*declared, *rest]
        columns = ", ".join(connection.ops.quote_name(f.column) for f in all_fields)
        json_positions = [i for i, f in enumerate(all_fields) if isinstance(f, models.JSONField)]
        rest_values = tuple(
            json.dumps(v) if isinstance(f, models.JSONField) else v
            for f, v in zip(rest, rest_values, strict=True)
        )
        declared_json = [i for i in json_positions if i < len(declared)]
        count = 0
        table = connection.ops.quote_name(model._meta.db_table)
        with connection.cursor() as cursor:
            raw = cursor.cursor  # the psycopg cursor under Django's wrapper
            with raw.copy(f"COPY {table} ({columns}) FROM STDIN") as copy:
                for row in rows:
                    if declared_json:
                        row = list(row)
                        for i in declared_json:
                            if row[i] is not None:
                                row[i] = json.dumps(row[i], ensure_ascii=False)
                    copy.write_row((*row, *rest_values))
                    count += 1
        return count

    def _bulk_create(self, model, names, rest, rest_values, rows) -> int:
        batch: list[models.Model] = []
        rest_names = [f.attname for f in rest]
        count = 0
        for row in rows:
            values = dict(zip(names, row, strict=True))
            values.update(zip(rest_names, rest_values, strict=True))
            batch.append(model(**values))
            if len(batch) >= 2000:
                model._default_manager.bulk_create(batch)
                count += len(batch)
                batch = []
        if batch:
            model._default_manager.bulk_create(batch)
            count += len(batch)
        return count


def reset_sequences(models_written: Iterable[type[models.Model]]) -> None:
    """Move each table's id sequence past the ids the builder chose (PostgreSQL)."""
    statements = connection.ops.sequence_reset_sql(no_style(), list(models_written))
    if statements:
        with connection.cursor() as cursor:
            for sql in statements:
                cursor.execute(sql)
