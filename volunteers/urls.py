from django.urls import path

from volunteers import views

app_name = "volunteers"
urlpatterns = [
    path("", views.activity_list, name="activity_list"),
    path("activities/<int:pk>/", views.activity_detail, name="activity_detail"),
    path("activities/<int:pk>/sign-up/", views.activity_sign_up, name="activity_sign_up"),
    path("activities/<int:pk>/cancel/", views.activity_cancel_sign_up, name="activity_cancel"),
    path("activities/<int:pk>/code/", views.activity_code, name="activity_code"),
    path("activities/<int:pk>/attendance/", views.attendance, name="attendance"),
    path(
        "activities/<int:pk>/attendance/confirm-all/",
        views.attendance_confirm_all,
        name="attendance_confirm_all",
    ),
    path(
        "activities/<int:pk>/attendance/<int:signup_pk>/<slug:step>/",
        views.attendance_step,
        name="attendance_step",
    ),
    path("mine/", views.my_signups, name="my_signups"),
    path("points/", views.my_points, name="my_points"),
    path("shop/", views.shop, name="shop"),
    path("shop/items/<int:pk>/redeem/", views.redeem, name="redeem"),
    path("shop/items/<int:pk>/photo/", views.item_photo, name="item_photo"),
    path("redemptions/", views.my_redemptions, name="my_redemptions"),
    path("redemptions/<int:pk>/cancel/", views.redemption_cancel, name="redemption_cancel"),
]
