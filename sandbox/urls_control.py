"""The sandbox's control surface, under /sandbox/_control/ (never subject to fault injection)."""

from django.urls import path

from sandbox import control_views

urlpatterns = [
    path("", control_views.index, name="sandbox-control"),
    path("faults", control_views.faults, name="sandbox-control-faults"),
    path("application", control_views.application, name="sandbox-control-application"),
    path("deliveries", control_views.deliveries, name="sandbox-control-deliveries"),
    path("deliveries/run", control_views.run_deliveries, name="sandbox-control-deliveries-run"),
    path("refunds/settle", control_views.settle_refunds, name="sandbox-control-refunds-settle"),
    path("orders/expire", control_views.expire_order, name="sandbox-control-orders-expire"),
    path("oauth/authorize", control_views.authorize, name="sandbox-control-oauth-authorize"),
    path("oauth/unlink", control_views.unlink, name="sandbox-control-oauth-unlink"),
    path("chargebacks", control_views.open_chargeback, name="sandbox-control-chargebacks"),
    path(
        "chargebacks/<str:chargeback_id>",
        control_views.chargeback,
        name="sandbox-control-chargeback",
    ),
]
