from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class TicketsConfig(AppConfig):
    """The ticket lifecycle: order → dispatch → claim → whistle → resolve → rate."""

    name = "tickets"
    verbose_name = _("Tickets")
