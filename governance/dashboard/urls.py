from django.urls import path

from governance.dashboard import views

app_name = "dashboard"
urlpatterns = [
    path("", views.dashboard, name="dashboard"),
    path("export.<str:fmt>", views.export, name="export"),
    path("departments/<int:pk>/", views.department, name="department"),
]
