"""Filters of ticket lists, one definition for the API's query parameters and for
``selectors.ticket_list(filters=...)``."""

from __future__ import annotations

from django.db.models import QuerySet, Subquery
from django.utils.translation import gettext_lazy as _
from django_filters import rest_framework as filters

from grids.models import Grid
from tickets.deadlines import overdue_q
from tickets.models import Category, Channel, Ticket, TicketStatus


def _subtree_ids(model, pk) -> QuerySet:
    """The ids of the subtree of the node ``pk`` (an MPTT model), as a subquery whose
    bounds are read inside it: the list filters on ``<fk> IN (…)``, which the database
    checks against a hashed set while it walks an index in the list's order, instead of
    joining every candidate row first. An unknown id gives an empty set."""
    node = model.objects.filter(pk=pk)
    return model.objects.filter(
        tree_id=Subquery(node.values("tree_id")[:1]),
        lft__gte=Subquery(node.values("lft")[:1]),
        rght__lte=Subquery(node.values("rght")[:1]),
    ).values("pk")


class TicketFilter(filters.FilterSet):
    # one value per row: no join, so no DISTINCT (which would sort every matching row
    # of a county before the page could be cut)
    status = filters.MultipleChoiceFilter(choices=TicketStatus.choices, distinct=False)
    channel = filters.MultipleChoiceFilter(choices=Channel.choices, distinct=False)
    category = filters.NumberFilter(
        method="filter_category", label=_("Category (with its subcategories)")
    )
    grid = filters.NumberFilter(method="filter_subtree", label=_("Grid (with its whole subtree)"))
    overdue = filters.BooleanFilter(method="filter_overdue", label=_("Past a deadline"))
    created = filters.DateFromToRangeFilter(field_name="created_at", label=_("Created between"))
    assignee = filters.NumberFilter(field_name="assignee_id")

    class Meta:
        model = Ticket
        fields = ["status", "channel", "category", "grid", "overdue", "created", "assignee"]

    def filter_category(self, queryset: QuerySet[Ticket], name: str, value) -> QuerySet[Ticket]:
        """A category and its subcategories (MPTT bounds), e.g. safety hazard with fire,
        read inside the list's own query (no query of their own)."""
        return queryset.filter(category__in=_subtree_ids(Category, value))

    def filter_subtree(self, queryset: QuerySet[Ticket], name: str, value) -> QuerySet[Ticket]:
        """Tickets anywhere under the grid (MPTT bounds through the grid's index), read
        inside the list's own query. The rows are already scoped, so an id outside one's
        scope finds nothing it should not."""
        return queryset.filter(grid__in=_subtree_ids(Grid, value))

    def filter_overdue(self, queryset: QuerySet[Ticket], name: str, value) -> QuerySet[Ticket]:
        if value is None:
            return queryset
        return queryset.filter(overdue_q()) if value else queryset.exclude(overdue_q())
