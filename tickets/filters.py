"""Filters of ticket lists, one definition for the API's query parameters and for
``selectors.ticket_list(filters=...)``."""

from __future__ import annotations

from django.db.models import QuerySet
from django.utils.translation import gettext_lazy as _
from django_filters import rest_framework as filters

from grids.models import Grid
from tickets.deadlines import overdue_q
from tickets.models import Category, Channel, Ticket, TicketStatus


class TicketFilter(filters.FilterSet):
    status = filters.MultipleChoiceFilter(choices=TicketStatus.choices)
    channel = filters.MultipleChoiceFilter(choices=Channel.choices)
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
        """A category and its subcategories (MPTT bounds), e.g. safety hazard with fire."""
        category = Category.objects.filter(pk=value).first()
        if category is None:
            return queryset.none()
        return queryset.filter(
            category__tree_id=category.tree_id,
            category__lft__gte=category.lft,
            category__rght__lte=category.rght,
        )

    def filter_subtree(self, queryset: QuerySet[Ticket], name: str, value) -> QuerySet[Ticket]:
        """Tickets anywhere under the grid (MPTT bounds through the grid's index). The rows
        are already scoped, so an id outside one's scope finds nothing it should not."""
        grid = Grid.objects.filter(pk=value).only("tree_id", "lft", "rght").first()
        if grid is None:
            return queryset.none()
        return queryset.filter(
            grid__tree_id=grid.tree_id, grid__lft__gte=grid.lft, grid__rght__lte=grid.rght
        )

    def filter_overdue(self, queryset: QuerySet[Ticket], name: str, value) -> QuerySet[Ticket]:
        if value is None:
            return queryset
        return queryset.filter(overdue_q()) if value else queryset.exclude(overdue_q())
