from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class SecurityConfig(AppConfig):
    name = "governance.security"
    label = "security"
    verbose_name = _("Security")

    def ready(self) -> None:
        from axes.signals import user_locked_out

        from governance.security.lockout import flag_lockout_on_django_request

        user_locked_out.connect(flag_lockout_on_django_request, dispatch_uid="security-lockout")
