"""Serialising structural writes to an MPTT tree.

django-mptt rewrites ``lft``/``rght`` of many rows on every insert or move and does no
locking of its own; two concurrent inserts under one parent corrupt the tree. Every
structural write therefore takes a transaction-scoped PostgreSQL advisory lock first
and re-reads the nodes it works on after taking it (their bounds may have moved while
it waited). One lock per model: structural writes are rare admin operations, and a new
root or a move between trees touches more than one ``tree_id``.

SQLite has a single writer already (our connections open IMMEDIATE transactions), so
the lock is a no-op there.
"""

from __future__ import annotations

import zlib

from django.db import connection, transaction
from django.db.models import Model


def tree_lock_key(model: type[Model]) -> int:
    """A stable signed 32-bit key for the model's tree, the same in every process."""
    return zlib.crc32(f"mptt-tree:{model._meta.label_lower}".encode()) - 2**31


def acquire_tree_lock(model: type[Model]) -> None:
    """Block until this transaction holds the model's tree lock.

    Precondition: called inside ``transaction.atomic``; the lock is released at commit
    or rollback.
    """
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("acquire_tree_lock() must be called inside transaction.atomic")
    if connection.vendor != "postgresql":
        return
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(%s)", [tree_lock_key(model)])
