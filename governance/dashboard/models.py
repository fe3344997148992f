"""The dashboard's rollups: counters per grid and local day, kept by the database.

See ``governance.dashboard.rollups`` for what each metric counts, how the rows are kept
current and when the dashboard reads them instead of counting live.
"""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class RollupCell(models.Model):
    """The columns of a rollup cell, shared by the rows and their pending changes."""

    child = models.BigIntegerField(_("child grid"), default=0)
    metric = models.CharField(_("metric"), max_length=12)
    day = models.DateField(_("day"))
    day2 = models.DateField(_("second day"))
    key = models.CharField(_("key"), max_length=40, blank=True, default="")
    n = models.BigIntegerField(_("count"), default=0)
    total = models.BigIntegerField(_("total"), default=0)

    class Meta:
        abstract = True


class Rollup(RollupCell):
    """How many of something a grid's subtree holds on a local day.

    ``grid`` is the grid whose whole subtree is counted (county, township or community:
    ``rollups.ROLLUP_DEPTH``); ``child`` splits the count by the child grid of ``grid`` it
    falls under (0: on ``grid`` itself, or a metric the child ranking does not need).
    ``day`` is the local date the metric is dated by (``NO_DAY`` for undated ones such as
    "open now"); ``day2`` a second date where a figure needs one (when a ticket due on
    ``day`` was resolved). ``key`` is the breakdown (status, category id, rating…), ``n``
    the count and ``total`` a sum where one is needed (report-in microseconds).
    """

    # no index of its own: the unique index below starts with the grid (and an index on
    # the grid alone would tempt the planner to read a county's every row)
    grid = models.ForeignKey(
        "grids.Grid",
        verbose_name=_("grid"),
        on_delete=models.CASCADE,
        related_name="+",
        db_index=False,
    )

    class Meta:
        verbose_name = _("dashboard rollup")
        verbose_name_plural = _("dashboard rollups")
        constraints = [
            # the upsert target of the compaction, and the dashboard's index: one grid, a
            # metric, a range of days
            models.UniqueConstraint(
                fields=["grid", "metric", "day", "day2", "child", "key"],
                name="dashboard_rollup_cell",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.grid_id} {self.metric} {self.day} {self.key}: {self.n}"


class RollupDelta(RollupCell):
    """A change to a rollup cell not yet folded into ``Rollup``.

    The triggers only ever *insert* here: a county's cells are touched by every ticket
    change in the county, and updating them in place would make every such transaction
    wait on (and, written in different orders, deadlock with) every other one until it
    commits. ``rollups.compact`` folds these rows into ``Rollup`` every few seconds; the
    dashboard reads both in one statement, so it never sees a change twice or not at all.
    """

    grid = models.ForeignKey(
        "grids.Grid", verbose_name=_("grid"), on_delete=models.CASCADE, related_name="+"
    )

    class Meta:
        verbose_name = _("pending rollup change")
        verbose_name_plural = _("pending rollup changes")

    def __str__(self) -> str:
        return f"{self.grid_id} {self.metric} {self.day} {self.key}: {self.n:+d}"
