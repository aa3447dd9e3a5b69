"""Writes about tenants and their members."""

from django.db import transaction
from django.utils import timezone
from django.utils.text import slugify

from merchant_platform.mercadopago import get_client
from mpapi import Forbidden, Unauthorized
from tenants.models import Membership, MercadoPagoCredential, Tenant, User
from tenants.roles import Role
from tenants.scope import cross_tenant_scope, tenant_scope


@transaction.atomic
def create_tenant(*, name: str, site: str, slug: str = "", owner: User | None = None) -> Tenant:
    """Create a seller, optionally with its first owner."""
    tenant = Tenant(name=name, site=site, slug=slug or slugify(name)[:60])
    tenant.full_clean()
    tenant.save()
    if owner is not None:
        add_member(tenant=tenant, user=owner, role=Role.OWNER)
    return tenant


@transaction.atomic
def add_member(*, tenant: Tenant, user: User, role: str) -> Membership:
    """Give ``user`` the ``role`` in ``tenant`` (changing the role if already a member).

    Refuses to demote the tenant's last owner.

    Members sign in to the admin, so the user becomes ``is_staff``; what they can see and change
    there follows from their memberships, not from Django's model permissions.
    """
    with tenant_scope(tenant):
        membership = Membership.objects.filter(user=user).first()
        if membership is None:
            membership = Membership.objects.create(tenant=tenant, user=user, role=role)
        elif membership.role != role:
            ensure_not_last_owner(membership)
            membership.role = role
            membership.save(update_fields=["role"])
    if not user.is_staff:
        user.is_staff = True
        user.save(update_fields=["is_staff"])
    return membership


def invite_member(*, tenant: Tenant, email: str, role: str) -> Membership:
    """Add the user with ``email`` to ``tenant``, creating an account that has no password yet."""
    email = User.objects.normalize_email(email).lower()
    user = User.objects.filter(email__iexact=email).first()
    if user is None:
        user = User(username=email, email=email)
        user.set_unusable_password()
        user.save()
    return add_member(tenant=tenant, user=user, role=role)


class LastOwnerError(ValueError):
    """A tenant must keep at least one owner."""


def remove_member(*, membership: Membership) -> None:
    """Remove a member, refusing to remove the tenant's last owner."""
    with tenant_scope(membership.tenant):
        ensure_not_last_owner(membership)
        membership.delete()


def ensure_not_last_owner(membership: Membership) -> None:
    """Raise ``LastOwnerError`` if ``membership`` is its tenant's only owner."""
    if membership.role != Role.OWNER:
        return
    with tenant_scope(membership.tenant):
        other_owners = Membership.objects.filter(role=Role.OWNER).exclude(pk=membership.pk)
        if not other_owners.exists():
            raise LastOwnerError(f"{membership.user} is the last owner of {membership.tenant}.")


class NotConnected(Exception):
    """The seller has no usable Mercado Pago connection; the message says what to do."""


class ConnectionRefused(Exception):
    """Mercado Pago refused the credentials offered; the message is safe to show."""


def usable_credential(tenant: Tenant) -> MercadoPagoCredential:
    """``tenant``'s Mercado Pago connection, if it can be used now; ``NotConnected`` otherwise."""
    with tenant_scope(tenant):
        credential = MercadoPagoCredential.objects.first()
    if credential is None:
        raise NotConnected(f"{tenant} has not connected a Mercado Pago account yet.")
    expired = credential.expires_at is not None and credential.expires_at <= timezone.now()
    if credential.status == MercadoPagoCredential.Status.NEEDS_RECONNECT or expired:
        raise NotConnected(
            f"{tenant} must connect Mercado Pago again: its authorization was revoked or expired."
        )
    return credential


def seller_access_token(tenant: Tenant) -> str:
    """The access token to call Mercado Pago for ``tenant``; ``NotConnected`` when there is none."""
    return usable_credential(tenant).access_token


def connect_with_access_token(*, tenant: Tenant, access_token: str) -> MercadoPagoCredential:
    """Connect ``tenant`` with an access token of the seller's own Mercado Pago application.

    Mercado Pago tokens end with the user id (``APP_USR-<app>-<date>-<hash>-<user id>``); the
    token is checked by one read call before it is saved. No marketplace fee is allowed then.
    """
    access_token = access_token.strip()
    user_id = access_token.rsplit("-", 1)[-1]
    if not access_token.startswith(("APP_USR-", "TEST-")) or not user_id.isdigit():
        raise ConnectionRefused("This is not a Mercado Pago access token (APP_USR-…).")
    with get_client() as mp:
        try:
            mp.search_stores(access_token, int(user_id), limit=1)
        except (Unauthorized, Forbidden) as error:
            raise ConnectionRefused("Mercado Pago refused this access token.") from error
    return save_credential(
        tenant=tenant,
        source=MercadoPagoCredential.Source.MANUAL,
        mp_user_id=int(user_id),
        access_token=access_token,
    )


# What a new connection replaces: a manual token must not keep an earlier OAuth refresh token.
_BLANK_TOKEN_FIELDS = {
    "refresh_token": "",
    "public_key": "",
    "scope": "",
    "live_mode": False,
    "expires_at": None,
    "refreshed_at": None,
}


@transaction.atomic
def save_credential(
    *, tenant: Tenant, source: str, mp_user_id: int, access_token: str, **fields
) -> MercadoPagoCredential:
    """Store ``tenant``'s connection to the Mercado Pago account ``mp_user_id``, replacing any.

    ``fields`` are the other token fields (refresh token, expiry, scope...); those not given are
    cleared. One Mercado Pago account serves one seller (``ConnectionRefused`` otherwise).
    """
    if Tenant.objects.filter(mp_user_id=mp_user_id).exclude(pk=tenant.pk).exists():
        raise ConnectionRefused("This Mercado Pago account is connected to another seller.")
    with tenant_scope(tenant):
        credential, _ = MercadoPagoCredential.objects.update_or_create(
            tenant=tenant,
            defaults={
                **_BLANK_TOKEN_FIELDS,
                **fields,
                "source": source,
                "mp_user_id": mp_user_id,
                "access_token": access_token,
                "access_token_tail": access_token[-4:],
                "status": MercadoPagoCredential.Status.CONNECTED,
                "connected_at": timezone.now(),
            },
        )
    Tenant.objects.filter(pk=tenant.pk).update(mp_user_id=mp_user_id)
    tenant.mp_user_id = mp_user_id
    return credential


@transaction.atomic
def disconnect(*, tenant: Tenant) -> None:
    """Forget ``tenant``'s Mercado Pago connection: its credential and its Mercado Pago user id."""
    with tenant_scope(tenant):
        MercadoPagoCredential.objects.all().delete()
    Tenant.objects.filter(pk=tenant.pk).update(mp_user_id=None)
    tenant.mp_user_id = None


@transaction.atomic
def reencrypt_credentials() -> int:
    """Re-encrypt every seller's tokens with the newest credential key; how many credentials.

    Reading a token decrypts it with whichever listed key encrypted it, and saving encrypts it
    with the first (newest) key, so after this the older keys can be dropped from settings.
    """
    with cross_tenant_scope():
        credentials = list(MercadoPagoCredential.objects.select_for_update().order_by("pk"))
        for credential in credentials:
            credential.save(update_fields=["access_token", "refresh_token"])
    return len(credentials)
