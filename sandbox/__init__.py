"""A local emulator of the Mercado Pago API, mounted under /sandbox/ when enabled.

It imports nothing from the platform, and the platform imports nothing from it: they talk over
HTTP only, as the platform would talk to Mercado Pago's data centre.
"""
