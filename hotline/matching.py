"""Where a 12345 order goes: its category and its grid, or why neither can be found.

**Category**: an active category whose code or name is the order's 诉求分类 (codes first,
they are unique; case and surrounding spaces ignored). Hotlines often write a path
(``城市管理/市容环境``): when the whole text matches nothing, its last part is tried. A
name that several active categories share is ambiguous and left to the dispatcher.

**Grid**, looked for only among the active territorial grids of the order's *area* (the
subtree the desk received it for) that the importing person may change (a 12345 order is
entered by the grid's staff):

1. coordinates (经度/纬度) → ``grids.locate.locate`` within those grids;
2. else the address (地址): every such grid whose name (two characters or more) appears in
   the address is a candidate; each scores the length of its own name plus the names of
   its ancestors that also appear, so ``幸福湾社区幸福小区3号楼`` picks the 3号楼 under
   幸福小区 under 幸福湾社区 rather than another estate's 3号楼 or the community itself;
   the highest score wins, then the deepest grid; two different grids still level are
   ambiguous;
3. else the order cannot be placed, and waits in the list for a dispatcher.

The candidates are read once per file (one query), the categories once (one query);
``locate`` costs a query per order with coordinates.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django.utils.translation import gettext as _

from grids import scoping
from grids.locate import locate
from grids.models import Grid, GridKind
from hotline.columns import OrderValues
from residents.personal_data import validate_phone
from tickets.models import Category

MIN_NAME = 2
_PATH_SEPARATORS = re.compile(r"\s*[/／>＞\\|｜-]\s*")


def candidate_grids(user, area: Grid) -> QuerySet[Grid]:
    """The grids an order received for ``area`` may be placed on by ``user``."""
    grids = Grid.objects.filter(
        is_active=True, tree_id=area.tree_id, lft__gte=area.lft, rght__lte=area.rght
    ).exclude(kind=GridKind.INDUSTRY)
    return scoping.filter_changeable(grids, user)


@dataclass
class Placement:
    """Where an order would go, or the reasons it cannot (``reasons`` empty = placeable)."""

    grid: Grid | None
    category: Category | None
    phone: str
    reasons: list[str]

    @property
    def placeable(self) -> bool:
        return not self.reasons

    @property
    def reason(self) -> str:
        return "; ".join(self.reasons)


class Matcher:
    """The lookups of one import (or one API order) for one person and one area."""

    def __init__(self, *, user, area: Grid) -> None:
        self.user = user
        self.area = area
        self.candidates = candidate_grids(user, area)
        self._grids: list[Grid] | None = None
        self._by_code: dict[str, Category] | None = None
        self._by_name: dict[str, list[Category]] = {}

    # --- categories ---

    def _load_categories(self) -> None:
        self._by_code, self._by_name = {}, {}
        for category in Category.objects.filter(is_active=True).select_related("department"):
            self._by_code[category.code.lower()] = category
            self._by_name.setdefault(category.name.strip().lower(), []).append(category)

    def category(self, raw: str) -> tuple[Category | None, str]:
        """The category the text names, or ``None`` and why."""
        if self._by_code is None:
            self._load_categories()
        raw = (raw or "").strip()
        if not raw:
            return None, _("No category (诉求分类) was given.")
        attempts = [raw]
        parts = [p for p in _PATH_SEPARATORS.split(raw) if p]
        if len(parts) > 1:
            attempts.append(parts[-1])
        for attempt in attempts:
            key = attempt.lower()
            if key in self._by_code:
                return self._by_code[key], ""
            named = self._by_name.get(key, [])
            if len(named) == 1:
                return named[0], ""
            if len(named) > 1:
                return None, _("Several categories are called %(name)s.") % {"name": attempt}
        return None, _("Unknown category %(name)s.") % {"name": raw}

    # --- grids ---

    @property
    def grids(self) -> list[Grid]:
        if self._grids is None:
            self._grids = [
                g
                for g in self.candidates.only(
                    "id", "name", "code", "parent_id", "tree_id", "lft", "rght", "depth", "level"
                ).order_by("tree_id", "lft")
                if len(g.name.strip()) >= MIN_NAME
            ]
        return self._grids

    def grid_by_address(self, address: str) -> tuple[Grid | None, str]:
        address = re.sub(r"\s", "", address or "")
        if not address:
            return None, ""
        matched = [g for g in self.grids if re.sub(r"\s", "", g.name) in address]
        if not matched:
            return None, ""

        def score(grid: Grid) -> int:
            return sum(
                len(other.name)
                for other in matched
                if other.tree_id == grid.tree_id
                and other.lft <= grid.lft
                and grid.rght <= other.rght
            )

        ranked = sorted(matched, key=lambda g: (score(g), g.depth), reverse=True)
        best = ranked[0]
        level = [g for g in ranked if (score(g), g.depth) == (score(best), best.depth)]
        if len(level) > 1:
            names = "、".join(g.name for g in level[:5])
            return None, _("The address fits several grids: %(names)s.") % {"names": names}
        return best, ""

    def grid(self, values: OrderValues) -> tuple[Grid | None, str]:
        """Coordinates first, then the address; ``None`` and why when neither places it."""
        if values.lat is not None and values.lng is not None:
            located = locate(values.lat, values.lng, queryset=self.candidates)
            if located is not None:
                return located, ""
        grid, ambiguity = self.grid_by_address(values.address)
        if grid is not None:
            return grid, ""
        if ambiguity:
            return None, ambiguity
        if values.lat is not None:
            return None, _("No grid of yours covers the coordinates or is named in the address.")
        return None, _("No grid of yours is named in the address.")

    # --- the whole order ---

    def place(self, values: OrderValues) -> Placement:
        reasons = []
        if not values.number:
            reasons.append(_("The order has no number (工单编号)."))
        category, why = self.category(values.category_text)
        if why:
            reasons.append(why)
        phone = ""
        if not values.phone:
            reasons.append(_("No phone number to call the caller back."))
        else:
            try:
                phone = validate_phone(values.phone)
            except ValidationError as exc:
                reasons.append(
                    _("Bad phone number %(phone)s: %(error)s")
                    % {"phone": values.phone, "error": " ".join(exc.messages)}
                )
        grid, why = self.grid(values)
        if why:
            reasons.append(why)
        return Placement(grid=grid, category=category, phone=phone, reasons=reasons)
