from django.urls import path

from residents import views

app_name = "residents"
urlpatterns = [
    path("", views.household_list, name="household_list"),
    path("households/<int:pk>/", views.household_archive, name="household_archive"),
    path("households/<int:pk>/visits/", views.visit_log, name="visit_log"),
    path("people/<int:pk>/reveal/", views.resident_reveal, name="resident_reveal"),
    path("visits/<int:pk>/photo/", views.visit_photo, name="visit_photo"),
    path("due/", views.duty_list, name="duty_list"),
    path("campaign-tasks/", views.campaign_task_list, name="campaign_task_list"),
    path("campaign-tasks/<int:pk>/", views.campaign_task_record, name="campaign_task_record"),
]
