from django.urls import path

from accounts import views

app_name = "accounts"

urlpatterns = [
    path("language/", views.language, name="language"),
    path("two-factor/", views.two_factor, name="two-factor"),
]
