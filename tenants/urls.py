from django.urls import path

from tenants import seller_settings, views

app_name = "tenants"

urlpatterns = [
    path("select/", views.select_tenant, name="select"),
    path("settings/", seller_settings.seller_settings, name="settings"),
    path("settings/logo.png", seller_settings.logo, name="logo"),
    path("mercadopago/", views.mercadopago_connection, name="mercadopago"),
    path("mercadopago/connect/", views.mercadopago_connect, name="mercadopago-connect"),
    path("mercadopago/callback/", views.mercadopago_callback, name="mercadopago-callback"),
    path("mercadopago/token/", views.mercadopago_token, name="mercadopago-token"),
    path("mercadopago/disconnect/", views.mercadopago_disconnect, name="mercadopago-disconnect"),
]
