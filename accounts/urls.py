from django.urls import path

from accounts import invitation_views, self_service, views

app_name = "accounts"

urlpatterns = [
    path("language/", views.language, name="language"),
    path("two-factor/", views.two_factor, name="two-factor"),
    path("invitations/<str:token>/", invitation_views.invitation, name="invitation"),
    path("password-reset/", self_service.ResetRequestView.as_view(), name="password-reset"),
    path("password-reset/sent/", self_service.ResetSentView.as_view(), name="password-reset-sent"),
    path(
        "password-reset/<uidb64>/<token>/",
        self_service.ResetConfirmView.as_view(),
        name="password-reset-confirm",
    ),
    path(
        "password-reset/done/",
        self_service.ResetCompleteView.as_view(),
        name="password-reset-complete",
    ),
    path("email/", self_service.change_email, name="email"),
    path("email/confirm/<str:token>/", self_service.confirm_email, name="email-confirm"),
    path("signup/", self_service.signup_view, name="signup"),
    path("signup/sent/", self_service.signup_sent, name="signup-sent"),
    path("signup/verify/<str:token>/", self_service.signup_verify, name="signup-verify"),
]
