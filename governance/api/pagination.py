from rest_framework import pagination


class PageNumberPagination(pagination.PageNumberPagination):
    """Pages of 50 by default; clients on a weak connection may ask for fewer."""

    page_size_query_param = "page_size"
    max_page_size = 500
