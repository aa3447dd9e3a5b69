"""Reads about points of sale that cross the tenant scope on purpose."""

from pos.models import PointOfSale
from tenants.scope import cross_tenant_scope


def pos_for_display_token(token: str) -> PointOfSale | None:
    """The POS whose display page is at ``token``, with its store and tenant; else None.

    The token alone names the POS (the display page has no signed-in user, hence no tenant), so
    the lookup runs across tenants; the caller scopes everything after it to ``pos.tenant``.
    """
    if not token:
        return None
    with cross_tenant_scope():
        return (
            PointOfSale.objects.select_related("store", "tenant")
            .defer("tenant__logo_png")
            .filter(display_token=token)
            .first()
        )
