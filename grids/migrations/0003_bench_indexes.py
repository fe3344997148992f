"""Indexes for a county-sized database (issue 8, ``make bench``); PostgreSQL only.

- ``grid_locate_box_gist``: a GiST index over the grids' bounding boxes, for
  ``grids.locate``. The B-tree over ``(min_lat, max_lat, min_lng, max_lng)`` can narrow
  "boxes holding this point" by its first column only, so it reads about half the grids of
  a county; the GiST index answers the containment in a few page reads. Partial, like the
  query: active territorial grids (industry grids are never located).
- ``grid_subtree_cover_idx``: the subtree bounds with the grid's id, depth and kind, so
  the many queries that join a subtree's grids (dashboards, lists, the volunteers'
  figures) or look up a grid's ancestors (routing, escalation) read the county's 10,000
  grids from a small index instead of the wide table (each row carries its boundary).

And ``parallel_workers = 0`` on the grid table: a county's table (10 MB, each row carries its
boundary) is just above ``min_parallel_table_scan_size``, and the planner launched a
parallel worker to fetch a ticket grid's five ancestors (9 ms instead of 2 ms).

They are a GiST and a covering index, which the model's ``Meta`` does not describe, so
this migration creates and drops them itself (``makemigrations`` does not see them).
"""

from django.db import migrations

INDEXES = {
    "grid_locate_box_gist": (
        "CREATE INDEX IF NOT EXISTS grid_locate_box_gist ON grids_grid "
        "USING gist (box(point(min_lng, min_lat), point(max_lng, max_lat))) "
        "WHERE is_active AND NOT (kind = 'industry')"
    ),
    "grid_subtree_cover_idx": (
        "CREATE INDEX IF NOT EXISTS grid_subtree_cover_idx ON grids_grid "
        "(tree_id, lft, rght) INCLUDE (id, depth, kind)"
    ),
}


def create(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        for sql in INDEXES.values():
            schema_editor.execute(sql)
        schema_editor.execute("ALTER TABLE grids_grid SET (parallel_workers = 0)")


def drop(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        for name in INDEXES:
            schema_editor.execute(f"DROP INDEX IF EXISTS {name}")
        schema_editor.execute("ALTER TABLE grids_grid RESET (parallel_workers)")


class Migration(migrations.Migration):
    dependencies = [("grids", "0002_history")]
    operations = [migrations.RunPython(create, drop)]
