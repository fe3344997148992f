"""The API root. Each app contributes its routes through ``<app>.apis.register(router)``,
so adding an app's API touches only that app."""

from importlib import import_module

from django.urls import include, path
from rest_framework.authtoken.views import obtain_auth_token
from rest_framework.routers import DefaultRouter

API_APPS = (
    "grids",
    "residents",
    "tickets",
    "volunteers",
    "governance.dashboard",
    "hotline",
    "webhooks",
)

router = DefaultRouter()
for app in API_APPS:
    register = getattr(import_module(f"{app}.apis"), "register", None)
    if register is not None:
        register(router)

urlpatterns = [
    path("auth/token/", obtain_auth_token, name="api-token"),
    path("", include(router.urls)),
]
