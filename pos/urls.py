from django.urls import path

from pos import views

app_name = "pos"

urlpatterns = [
    path("<int:pk>/qr.png", views.qr_png, name="qr-png"),
    path("<int:pk>/qr.svg", views.qr_svg, name="qr-svg"),
    path("<int:pk>/sticker/", views.sticker, name="sticker"),
]
