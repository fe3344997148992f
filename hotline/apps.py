from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class HotlineConfig(AppConfig):
    name = "hotline"
    verbose_name = _("12345 hotline")

    def ready(self) -> None:
        from hotline.receivers import order_follows_ticket
        from tickets.signals import event_recorded

        event_recorded.connect(order_follows_ticket, dispatch_uid="hotline.order_follows_ticket")
