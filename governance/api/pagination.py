from rest_framework import pagination


class PageNumberPagination(pagination.PageNumberPagination):
    """Pages of 50 by default; clients on a weak connection may ask for fewer."""

    page_size_query_param = "page_size"
    max_page_size = 500


class CursorPagination(pagination.CursorPagination):
    """Pages of 50 (up to 500 with ``page_size``) for lists that grow without bound, such
    as a county's tickets: ``next`` and ``previous`` are opaque links that continue from
    the last row seen, so a page costs the same whether it is the first or the
    thousandth, and no ``COUNT(*)`` of a large subtree is run for every page. The
    response has ``next``, ``previous`` and ``results`` (no ``count``).

    The order is the view's (``?ordering=``, else ``ordering`` below), always ended with
    the primary key so that rows with equal values never repeat or go missing between
    pages."""

    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 500
    ordering = ("-created_at", "-pk")

    def get_ordering(self, request, queryset, view):
        ordering = tuple(super().get_ordering(request, queryset, view))
        if not any(field.lstrip("-") in ("pk", "id") for field in ordering):
            descending = ordering and ordering[0].startswith("-")
            ordering += ("-pk" if descending else "pk",)
        return ordering
