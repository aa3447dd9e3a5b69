from django.urls import path

from orders import qr_views, views

app_name = "orders"

urlpatterns = [
    path("orders/<int:pk>/qr.png", qr_views.qr_png, name="qr-png"),
    path("orders/<int:pk>/qr.svg", qr_views.qr_svg, name="qr-svg"),
    path("webhooks/mercadopago/", views.mercadopago_webhook, name="mercadopago-webhook"),
]
