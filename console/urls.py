from django.contrib import admin
from django.urls import path

from console import views

app_name = "console"

urlpatterns = [
    path("", admin.site.admin_view(views.sellers_view), name="sellers"),
    path("sellers.csv", admin.site.admin_view(views.sellers_csv_view), name="sellers-csv"),
    path("health/", admin.site.admin_view(views.health_view), name="health"),
    path("fees/", admin.site.admin_view(views.fees_view), name="fees"),
]
