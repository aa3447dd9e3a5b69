from django.urls import path

from orders import views

app_name = "orders"

urlpatterns = [
    path("webhooks/mercadopago/", views.mercadopago_webhook, name="mercadopago-webhook"),
]
