from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ResidentsConfig(AppConfig):
    """Households (一户一档), residents, visits and campaigns: see issue "Residents"."""

    name = "residents"
    verbose_name = _("Residents")
