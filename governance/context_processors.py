"""What every page's header needs beyond Django's own context processors.

``inbox`` gives the page header the signed-in user's unread notifications count. It costs
one query (on the partial index of unread rows), made only when a template actually shows
the count: pages that do not (the admin, the browsable API) and anonymous visitors cost
nothing.
"""

from __future__ import annotations

from functools import cached_property

from django.http import HttpRequest

# Beyond this the header shows "99+": counting further tells the reader nothing more.
UNREAD_CAP = 100


class UnreadNotifications:
    """The header's unread count, counted on first use and kept for the rest of the page."""

    def __init__(self, user) -> None:
        self._user = user

    @cached_property
    def count(self) -> int:
        from tickets.notifications import notification_unread_count

        return notification_unread_count(user=self._user, cap=UNREAD_CAP)

    @property
    def label(self) -> str:
        return f"{UNREAD_CAP - 1}+" if self.count >= UNREAD_CAP else str(self.count)

    def __bool__(self) -> bool:
        return self.count > 0


def notifications(request: HttpRequest) -> dict[str, object]:
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    return {"inbox": UnreadNotifications(user)}
