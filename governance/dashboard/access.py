"""Which grid and period a dashboard request asks for, checked against the caller's scope.

A grid outside the caller's scope is a 403 here (not a 404): leaders know their
neighbours exist, they may just not read them (issue: "a leader of township A cannot read
township B's dashboard").
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass

from django import forms
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from governance.dashboard.periods import Period, this_month
from grids import scoping
from grids.models import Grid

MAX_DAYS = 366


class DashboardQuery(forms.Form):
    grid = forms.IntegerField(required=False, min_value=1)
    date_from = forms.DateField(required=False, label=gettext_lazy("From"))
    date_to = forms.DateField(required=False, label=gettext_lazy("To"))
    unit = forms.ChoiceField(
        required=False,
        choices=[("month", gettext_lazy("Monthly")), ("week", gettext_lazy("Weekly"))],
        label=gettext_lazy("Trend"),
    )

    def clean(self):
        cleaned = super().clean()
        first, last = cleaned.get("date_from"), cleaned.get("date_to")
        if first and last:
            if last < first:
                self.add_error("date_to", _("The end of the period is before its start."))
            elif (last - first).days >= MAX_DAYS:
                self.add_error("date_to", _("Choose a period of at most a year."))
        return cleaned


@dataclass(frozen=True)
class Request:
    grid: Grid
    period: Period
    unit: str


def resolve(user, params) -> Request:
    """Turn query parameters into a checked request; ``ValidationError`` for bad input,
    ``PermissionDenied`` for a grid out of scope."""
    query = DashboardQuery(params)
    if not query.is_valid():
        raise ValidationError(
            query.errors.get_json_data()
            and {
                field: [e["message"] for e in errors]
                for field, errors in query.errors.get_json_data().items()
            }
        )
    data = query.cleaned_data
    grid = _grid(user, data.get("grid"))
    default = this_month()
    first = data.get("date_from") or default.first_day
    last = data.get("date_to") or (
        default.last_day if not data.get("date_from") else first + datetime.timedelta(days=30)
    )
    if last < first:
        raise ValidationError({"date_to": [_("The end of the period is before its start.")]})
    return Request(grid=grid, period=Period(first, last), unit=data.get("unit") or "month")


def _grid(user, grid_id: int | None) -> Grid:
    if grid_id is None:
        root = scoping.scope_roots(user).order_by("tree_id", "lft").first()
        if root is None:
            raise PermissionDenied(_("You have no grid whose dashboard you may read."))
        return root
    grid = Grid.objects.filter(pk=grid_id).first()
    if grid is None:
        raise ValidationError({"grid": [_("No such grid.")]})
    if not scoping.can_view(user, grid):
        raise PermissionDenied(_("This grid's dashboard is not yours to read."))
    return grid
