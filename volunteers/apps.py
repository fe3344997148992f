from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class VolunteersConfig(AppConfig):
    """Volunteer teams, activities and hours, the points ledger and the points shop."""

    name = "volunteers"
    verbose_name = _("Volunteers")
