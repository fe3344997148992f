"""REST API routes of this app (registered by ``governance.api.urls``)."""


def register(router) -> None:
    """Nothing yet."""
