from django.urls import path

from tickets import views

app_name = "tickets"
urlpatterns = [
    # phone pages: report (随手拍), my tickets, the claim board, a ticket and its actions
    path("report/", views.report, name="report"),
    path("mine/", views.my_tickets, name="my_tickets"),
    path("board/", views.claim_board, name="claim_board"),
    path("<int:pk>/", views.ticket_detail, name="ticket_detail"),
    path("<int:pk>/do/<slug:action>/", views.ticket_act, name="ticket_act"),
    path("<int:pk>/rate/", views.ticket_rate, name="ticket_rate"),
    path("whistles/<int:pk>/<slug:action>/", views.whistle_act, name="whistle_act"),
    path("photos/<int:pk>/", views.ticket_photo, name="ticket_photo"),
    path("inbox/", views.inbox, name="inbox"),
    # the private page of a reporter without an account (a signed link, no login)
    path("follow/<str:token>/", views.follow, name="follow"),
    path("follow/<str:token>/photos/<int:pk>/", views.follow_photo, name="follow_photo"),
]
