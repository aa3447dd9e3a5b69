"""The emulated Mercado Pago API (paths as api.md gives them, under /sandbox/), the POS QR
images and the buyer wallet."""

from django.urls import path, re_path

from sandbox.views import (
    chargebacks,
    instore,
    orders,
    payments,
    qr,
    reports,
    stores,
    users,
    wallet,
)

# Legacy in-store paths keep empty segments routable, so a missing id gets its errorKey.
_SELLER = r"^instore/(?:orders/)?qr/seller/collectors/(?P<user_id>[^/]*)"
_POS = r"/pos/(?P<external_pos_id>[^/]*)"
_REPORT = r"^v1/account/(?P<report>settlement_report|release_report)"

urlpatterns = [
    # Users
    path("users/me", users.me),
    # Stores and POS
    path("users/<str:user_id>/stores", stores.user_stores),
    path("users/<str:user_id>/stores/search", stores.user_stores_search),
    path("users/<str:user_id>/stores/<str:store_id>", stores.user_store),
    path("stores/<str:store_id>", stores.store),
    path("pos", stores.points_of_sale),
    path("pos/<str:pos_id>", stores.point_of_sale),
    path("qr/<str:uuid>/<str:kind>", qr.pos_qr, name="sandbox-pos-qr"),
    # Legacy in-store QR
    re_path(_SELLER + _POS + r"/qrs$", instore.qrs),
    re_path(
        _SELLER + r"/stores/(?P<external_store_id>[^/]*)" + _POS + r"/orders$",
        instore.store_pos_orders,
    ),
    re_path(_SELLER + _POS + r"/orders$", instore.pos_orders),
    # Orders API
    path("v1/orders", orders.orders),
    path("v1/orders/<str:order_id>", orders.order),
    path("v1/orders/<str:order_id>/cancel", orders.cancel),
    path("v1/orders/<str:order_id>/refund", orders.refund),
    # Merchant orders and payments
    path("merchant_orders/search", payments.merchant_orders_search),
    path("merchant_orders/<str:merchant_order_id>", payments.merchant_order),
    path("v1/payments/<str:payment_id>", payments.payment),
    path("v1/payments/<str:payment_id>/refunds", payments.payment_refunds),
    path("v1/payments/<str:payment_id>/refunds/<str:refund_id>", payments.payment_refund),
    # Chargebacks
    path("v1/chargebacks/<str:chargeback_id>", chargebacks.chargeback),
    # Account reports (settlement and release), and the control endpoint generating them
    re_path(_REPORT + r"/config$", reports.config),
    re_path(_REPORT + r"/list$", reports.report_list),
    re_path(_REPORT + r"/schedule$", reports.schedule),
    re_path(_REPORT + r"/(?P<file_name>[^/]+)$", reports.report_file),
    re_path(_REPORT + r"$", reports.generate),
    path("_control/reports/run", reports.run, name="sandbox-control-reports-run"),
    # Buyer wallet
    path("wallet/", wallet.page, name="sandbox-wallet"),
    path("wallet/pay", wallet.pay, name="sandbox-wallet-pay"),
]
