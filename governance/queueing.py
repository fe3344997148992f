"""Queue background work after the commit, without ever failing the user's request.

A request that saved its rows must answer success even when the broker is down: the
enqueue is attempted after the commit, a failure is logged, and the periodic sweeps
(which look at the database, not the queue) catch the work up later.
"""

from __future__ import annotations

import logging

from django.db import transaction

logger = logging.getLogger(__name__)


def enqueue_on_commit(task, *args, **kwargs) -> None:
    def send() -> None:
        try:
            task.delay(*args, **kwargs)
        except Exception:  # the broker's many connection errors; never the user's problem
            logger.exception(
                "could not queue %s%r; a periodic sweep will catch up", task.name, args
            )

    transaction.on_commit(send)
