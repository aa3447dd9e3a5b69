from django.urls import path, re_path

from pos import qr_links, views

app_name = "pos"

urlpatterns = [
    path("<int:pk>/qr.png", views.qr_png, name="qr-png"),
    path("<int:pk>/qr.svg", views.qr_svg, name="qr-svg"),
    path("<int:pk>/sticker/", views.sticker, name="sticker"),
    re_path(qr_links.ROUTE, qr_links.signed_image, name="signed-qr"),
]
