from django.urls import path

from orders import cashier

app_name = "cashier"

urlpatterns = [
    path("", cashier.cashier, name="page"),
    path("orders/<uuid:uid>/status.json", cashier.order_status, name="status"),
    path("orders/<uuid:uid>/events", cashier.order_events, name="events"),
    path("orders/<uuid:uid>/cancel", cashier.cancel, name="cancel"),
    path("orders/<uuid:uid>/receipt/", cashier.receipt, name="receipt"),
]
