from django.urls import path

from tenants import views

app_name = "tenants"

urlpatterns = [
    path("select/", views.select_tenant, name="select"),
]
