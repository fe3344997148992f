from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class DashboardConfig(AppConfig):
    name = "governance.dashboard"
    label = "dashboard"
    verbose_name = _("Dashboard")

    def ready(self) -> None:
        # a grid moved in the tree moves its subtree's rollups (the rows themselves are
        # kept by database triggers: see governance.dashboard.rollups)
        from governance.dashboard import receivers  # noqa: F401
