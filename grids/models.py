"""The grid tree (网格), who works on which grid, and the party organizations beside it.

Structural writes (create under a parent, move, delete) go through ``grids.services``,
which serialises them with an advisory lock: django-mptt itself does no locking.

Every saved change to a grid, an assignment or a party organization is kept by
django-simple-history (who, when, what), readable on each object's history page in the
admin. The tree's own bookkeeping (``lft``, ``rght``, ``tree_id``, ``depth``/``level``) and
the bounding box derived from the boundary are left out: they change with the neighbours'
moves, not with a decision about this grid.
"""

from __future__ import annotations

import datetime

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from mptt.models import MPTTModel, TreeForeignKey
from simple_history.models import HistoricalRecords

_TREE_FIELDS = ["lft", "rght", "tree_id"]


class GridKind(models.TextChoices):
    ADMINISTRATIVE = "administrative", _("Administrative grid")
    INDUSTRY = "industry", _("Industry grid")
    DEDICATED = "dedicated", _("Dedicated grid")


class GridLevel(models.TextChoices):
    """The five administrative levels (五级网格), top to bottom."""

    COUNTY = "county", _("County")
    TOWNSHIP = "township", _("Township")
    COMMUNITY = "community", _("Community / village")
    ESTATE = "estate", _("Estate / group")
    MICRO = "micro", _("Micro grid")


LEVEL_RANK: dict[str, int] = {
    GridLevel.COUNTY: 1,
    GridLevel.TOWNSHIP: 2,
    GridLevel.COMMUNITY: 3,
    GridLevel.ESTATE: 4,
    GridLevel.MICRO: 5,
}


class Grid(MPTTModel):
    name = models.CharField(_("name"), max_length=100)
    code = models.CharField(
        _("administrative code"),
        max_length=32,
        unique=True,
        help_text=_("Unique code, e.g. the statistical division code plus a grid number."),
    )
    kind = models.CharField(
        _("kind"), max_length=16, choices=GridKind.choices, default=GridKind.ADMINISTRATIVE
    )
    level = models.CharField(_("level"), max_length=16, choices=GridLevel.choices)
    parent = TreeForeignKey(
        "self",
        verbose_name=_("parent grid"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="children",
    )
    boundary = models.JSONField(
        _("boundary"),
        null=True,
        blank=True,
        help_text=_("GeoJSON Polygon or MultiPolygon, longitude before latitude."),
    )
    # The bounding box is derived from the boundary and indexed, so locate() can
    # prefilter candidates in the database before the exact polygon test.
    min_lat = models.FloatField(null=True, blank=True, editable=False)
    max_lat = models.FloatField(null=True, blank=True, editable=False)
    min_lng = models.FloatField(null=True, blank=True, editable=False)
    max_lng = models.FloatField(null=True, blank=True, editable=False)
    is_active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    history = HistoricalRecords(
        excluded_fields=[
            *_TREE_FIELDS,
            "depth",
            "min_lat",
            "max_lat",
            "min_lng",
            "max_lng",
            "updated_at",
        ]
    )

    class MPTTMeta:
        # ``level`` is the administrative level (五级网格); the tree depth is ``depth``.
        level_attr = "depth"
        order_insertion_by = ["code"]

    class Meta:
        verbose_name = _("grid")
        verbose_name_plural = _("grids")
        indexes = [
            models.Index(fields=["tree_id", "lft", "rght"], name="grid_subtree_idx"),
            models.Index(fields=["min_lat", "max_lat", "min_lng", "max_lng"], name="grid_bbox_idx"),
            models.Index(fields=["kind", "level"], name="grid_kind_level_idx"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(min_lat__isnull=True) | Q(min_lat__lte=models.F("max_lat")),
                name="grid_bbox_lat_ordered",
            ),
            models.CheckConstraint(
                condition=Q(min_lng__isnull=True) | Q(min_lng__lte=models.F("max_lng")),
                name="grid_bbox_lng_ordered",
            ),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def level_rank(self) -> int:
        return LEVEL_RANK[self.level]


class AssignmentRole(models.TextChoices):
    GRID_LEADER = "grid_leader", _("Grid leader")
    FULL_TIME_WORKER = "full_time_worker", _("Full-time grid worker")
    PART_TIME_WORKER = "part_time_worker", _("Part-time grid worker")
    UNIT_HEAD = "unit_head", _("Unit head")
    PARTY_SECRETARY = "party_secretary", _("Party secretary")
    DEPARTMENT_LIAISON = "department_liaison", _("Department liaison")
    COMMUNITY_STAFF = "community_staff", _("Community staff")
    DISTRICT_LEADER = "district_leader", _("District leader")


class GridAssignmentQuerySet(models.QuerySet):
    def current(self, on: datetime.date | None = None) -> GridAssignmentQuerySet:
        day = on or timezone.localdate()
        return self.filter(Q(ends_on__isnull=True) | Q(ends_on__gte=day), starts_on__lte=day)


class GridAssignment(models.Model):
    """A person in a role on a grid for a period (任职). A person may hold several."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("user"),
        on_delete=models.CASCADE,
        related_name="grid_assignments",
    )
    grid = models.ForeignKey(
        Grid, verbose_name=_("grid"), on_delete=models.PROTECT, related_name="assignments"
    )
    role = models.CharField(_("role"), max_length=32, choices=AssignmentRole.choices)
    starts_on = models.DateField(_("starts on"), default=timezone.localdate)
    ends_on = models.DateField(_("ends on"), null=True, blank=True)
    note = models.CharField(_("note"), max_length=200, blank=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    objects = GridAssignmentQuerySet.as_manager()
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("grid assignment")
        verbose_name_plural = _("grid assignments")
        ordering = ["grid__tree_id", "grid__lft", "role", "user_id"]
        indexes = [models.Index(fields=["user", "ends_on"], name="assignment_user_current_idx")]
        constraints = [
            models.CheckConstraint(
                condition=Q(ends_on__isnull=True) | Q(ends_on__gte=models.F("starts_on")),
                name="assignment_period_ordered",
            ),
            models.UniqueConstraint(
                fields=["user", "grid", "role"],
                condition=Q(ends_on__isnull=True),
                name="assignment_one_open_per_role",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.user} · {self.get_role_display()} · {self.grid}"

    def is_current(self, on: datetime.date | None = None) -> bool:
        day = on or timezone.localdate()
        return self.starts_on <= day and (self.ends_on is None or self.ends_on >= day)


class PartyOrganizationKind(models.TextChoices):
    COMMITTEE = "committee", _("Party committee")
    GENERAL_BRANCH = "general_branch", _("General party branch")
    BRANCH = "branch", _("Party branch")
    GROUP = "group", _("Party group")


PARTY_KIND_RANK: dict[str, int] = {
    PartyOrganizationKind.COMMITTEE: 1,
    PartyOrganizationKind.GENERAL_BRANCH: 2,
    PartyOrganizationKind.BRANCH: 3,
    PartyOrganizationKind.GROUP: 4,
}


class PartyOrganization(MPTTModel):
    """Committee → general branch → branch → building group (seeds 003, 004), on a grid."""

    name = models.CharField(_("name"), max_length=100)
    kind = models.CharField(_("kind"), max_length=16, choices=PartyOrganizationKind.choices)
    parent = TreeForeignKey(
        "self",
        verbose_name=_("parent organization"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="children",
    )
    grid = models.ForeignKey(
        Grid,
        verbose_name=_("grid"),
        on_delete=models.PROTECT,
        related_name="party_organizations",
    )
    secretary = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("secretary"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="party_organizations_led",
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    history = HistoricalRecords(excluded_fields=[*_TREE_FIELDS, "level"])

    class MPTTMeta:
        order_insertion_by = ["name"]

    class Meta:
        verbose_name = _("party organization")
        verbose_name_plural = _("party organizations")
        indexes = [models.Index(fields=["tree_id", "lft", "rght"], name="party_subtree_idx")]

    def __str__(self) -> str:
        return self.name
