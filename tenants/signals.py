"""Signals other apps receive about sellers.

``connection_changed`` is sent with ``tenant`` and ``previous`` (``connected``,
``needs_reconnect`` or ``not_connected``, as ``GET /api/v1/tenant`` names it) when the seller's
Mercado Pago connection changes state, inside the transaction that changes it: a receiver's error
rolls the change back. (partners.receivers turns it into the ``seller.connection_changed`` event.)
"""

from django.dispatch import Signal

NOT_CONNECTED = "not_connected"

connection_changed = Signal()
