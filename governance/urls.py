from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path
from django.utils.translation import gettext_lazy as _
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from governance import views

urlpatterns = [
    path("", views.home, name="home"),
    path("healthz/", views.healthz, name="healthz"),
    path("", include("governance.pwa.urls")),
    path("accounts/login/", auth_views.LoginView.as_view(), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("i18n/", include("django.conf.urls.i18n")),
    path("dashboard/", include("governance.dashboard.urls")),
    path("grids/", include("grids.urls")),
    path("residents/", include("residents.urls")),
    path("tickets/", include("tickets.urls")),
    path("volunteers/", include("volunteers.urls")),
    path("admin/", admin.site.urls),
    path("api/v1/", include("governance.api.urls")),
    path("open311/v2/", include("open311.urls")),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/docs/", SpectacularSwaggerSplitView.as_view(url_name="schema"), name="api-docs"),
]

admin.site.site_header = admin.site.site_title = _("Grid governance")
admin.site.index_title = _("Administration")
handler404 = "governance.middleware.page_not_found"
handler500 = "governance.middleware.server_error"
