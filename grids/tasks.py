"""Periodic checks of the grid tree."""

from __future__ import annotations

import logging

from celery import shared_task

from grids.models import Grid, PartyOrganization
from grids.tree_check import check_tree

logger = logging.getLogger(__name__)


@shared_task(acks_late=True, time_limit=600, soft_time_limit=540)
def grid_tree_check_task() -> int:
    """Log any broken invariant of the grid and party trees; returns how many were found.

    Read-only and safe to run twice; repairing is a deliberate act of staff
    (``manage.py check_grid_tree --repair``), never done behind their back.
    """
    problems = check_tree(Grid) + check_tree(PartyOrganization)
    for problem in problems:
        logger.error("tree invariant broken: %s", problem)
    return len(problems)
