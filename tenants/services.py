"""Writes about tenants and their members."""

from collections.abc import Collection

from cryptography.fernet import InvalidToken
from django.db import models, transaction
from django.db.models import Value
from django.utils import timezone
from django.utils.text import slugify
from django.utils.translation import gettext as _

from merchant_platform.mercadopago import get_client
from mpapi import Forbidden, Unauthorized
from mpapi.users import User as MercadoPagoUser
from tenants import crypto
from tenants.models import Membership, MercadoPagoCredential, Tenant, User
from tenants.roles import Role
from tenants.scope import cross_tenant_scope, tenant_scope
from tenants.signals import NOT_CONNECTED, connection_changed
from tenants.sites import Site


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

    Refuses to demote the tenant's last owner. People join a seller by accepting an invitation
    (``accounts.invitations``), which calls this.

    Members sign in to the admin, so the user becomes ``is_staff``; what they can see and change
    there follows from their memberships, not from Django's model permissions.
    """
    with tenant_scope(tenant):
        membership = Membership.objects.filter(user=user).first()
        if membership is None:
            membership = Membership.objects.create(tenant=tenant, user=user, role=role)
        else:
            change_role(membership=membership, role=role)
    if not user.is_staff:
        user.is_staff = True
        user.save(update_fields=["is_staff"])
    return membership


@transaction.atomic
def change_role(*, membership: Membership, role: str) -> str:
    """Give ``membership`` the ``role``; returns the role it had. Refuses (``LastOwnerError``) to
    demote the tenant's last owner."""
    previous = membership.role
    if role != previous:
        with tenant_scope(membership.tenant):
            ensure_not_last_owner(membership)
            membership.role = role
            membership.save(update_fields=["role"])
    return previous


class LastOwnerError(ValueError):
    """A tenant must keep at least one owner; the message is safe to show."""

    def __init__(self, membership: Membership) -> None:
        super().__init__(
            _(
                "%(user)s is the last owner of %(seller)s, and a seller keeps at least one "
                "owner: make another member an owner first."
            )
            % {"user": membership.user, "seller": membership.tenant}
        )


def remove_member(*, membership: Membership) -> None:
    """Remove a member, refusing to remove the tenant's last owner."""
    remove_members(memberships=[membership])


@transaction.atomic
def remove_members(*, memberships: Collection[Membership]) -> None:
    """Remove ``memberships`` (of any tenants), all or none: ``LastOwnerError`` if a tenant
    would be left without an owner."""
    ensure_owners_remain(memberships)
    for membership in memberships:
        with tenant_scope(membership.tenant):
            membership.delete()


def ensure_not_last_owner(membership: Membership) -> None:
    """Raise ``LastOwnerError`` if ``membership`` is its tenant's only owner."""
    ensure_owners_remain([membership])


def ensure_owners_remain(memberships: Collection[Membership]) -> None:
    """Raise ``LastOwnerError`` if, without ``memberships``, one of their tenants would have no
    owner left."""
    leaving = [m for m in memberships if m.role == Role.OWNER]
    for membership in leaving:
        with tenant_scope(membership.tenant):
            owners = Membership.objects.filter(role=Role.OWNER)
            if not owners.exclude(pk__in=[m.pk for m in leaving]).exists():
                raise LastOwnerError(membership)


class NotConnected(Exception):
    """The seller has no usable Mercado Pago connection; the message says what to do."""


class ConnectionRefused(Exception):
    """Mercado Pago refused the credentials offered; the message is safe to show."""


class WrongSite(ConnectionRefused):
    """The Mercado Pago account is registered in another site (country) than the seller's."""

    def __init__(self, *, tenant: Tenant, account_site: str):
        self.account_site = account_site
        super().__init__(
            f"This Mercado Pago account is registered in {site_name(account_site)}, but "
            f"{tenant} sells in {site_name(tenant.site)} ({tenant.currency}): Mercado Pago "
            "charges in its account's currency. Connect the seller's Mercado Pago account of "
            f"{site_name(tenant.site)}."
        )


def site_name(site_id: str) -> str:
    """The country of a Mercado Pago site, e.g. "Uruguay (MLU)"."""
    label = Site(site_id).label if site_id in Site.values else "another country"
    return f"{label} ({site_id})"


def ensure_same_site(*, tenant: Tenant, account: MercadoPagoUser) -> None:
    """Raise ``WrongSite`` unless ``account`` (``GET /users/me``) is of ``tenant``'s site.

    Mercado Pago charges in its account's currency, and the platform shows the seller's: they
    must be the same.
    """
    if account.site_id != tenant.site:
        raise WrongSite(tenant=tenant, account_site=account.site_id)


def usable_credential(tenant: Tenant) -> MercadoPagoCredential:
    """``tenant``'s Mercado Pago connection, if it can be used now; ``NotConnected`` otherwise."""
    with tenant_scope(tenant):
        return check_usable(tenant, MercadoPagoCredential.objects.first())


def check_usable(tenant: Tenant, credential: MercadoPagoCredential | None) -> MercadoPagoCredential:
    """``credential``, ``tenant``'s connection as just read (None: it has none), if it can be
    used now; ``NotConnected`` otherwise."""
    if credential is None:
        raise NotConnected(
            _("%(seller)s has not connected a Mercado Pago account yet.") % {"seller": tenant}
        )
    expired = credential.expires_at is not None and credential.expires_at <= timezone.now()
    if credential.status == MercadoPagoCredential.Status.NEEDS_RECONNECT or expired:
        raise NotConnected(
            _(
                "%(seller)s must connect Mercado Pago again: its authorization was revoked or "
                "expired."
            )
            % {"seller": tenant}
        )
    return credential


def seller_access_token(tenant: Tenant) -> str:
    """The access token to call Mercado Pago for ``tenant``; ``NotConnected`` when there is none."""
    return usable_credential(tenant).access_token


def connect_with_access_token(*, tenant: Tenant, access_token: str) -> MercadoPagoCredential:
    """Connect ``tenant`` with an access token of the seller's own Mercado Pago application.

    Mercado Pago tokens end with the user id (``APP_USR-<app>-<date>-<hash>-<user id>``). Before
    it is saved, ``GET /users/me`` checks the token and tells its account, which must be of the
    seller's site (``WrongSite`` otherwise). No marketplace fee is allowed then.
    """
    access_token = access_token.strip()
    user_id = access_token.rsplit("-", 1)[-1]
    if not access_token.startswith(("APP_USR-", "TEST-")) or not user_id.isdigit():
        raise ConnectionRefused("This is not a Mercado Pago access token (APP_USR-…).")
    with get_client() as mp:
        try:
            account = mp.get_me(access_token)
        except (Unauthorized, Forbidden) as error:
            raise ConnectionRefused("Mercado Pago refused this access token.") from error
    ensure_same_site(tenant=tenant, account=account)
    return save_credential(
        tenant=tenant,
        source=MercadoPagoCredential.Source.MANUAL,
        mp_user_id=account.id,
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
        previous = _connection_state(tenant)
        credential, _created = MercadoPagoCredential.objects.update_or_create(
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
    if previous != credential.status:
        connection_changed.send(Tenant, tenant=tenant, previous=previous)
    return credential


@transaction.atomic
def disconnect(*, tenant: Tenant) -> None:
    """Forget ``tenant``'s Mercado Pago connection: its credential and its Mercado Pago user id."""
    with tenant_scope(tenant):
        previous = _connection_state(tenant)
        MercadoPagoCredential.objects.all().delete()
    Tenant.objects.filter(pk=tenant.pk).update(mp_user_id=None)
    tenant.mp_user_id = None
    if previous != NOT_CONNECTED:
        connection_changed.send(Tenant, tenant=tenant, previous=previous)


def _connection_state(tenant: Tenant) -> str:
    """The state of ``tenant``'s connection, as ``connection_changed`` names it; the credential
    stays locked until the transaction ends, so concurrent changes tell their states in turn."""
    with tenant_scope(tenant):
        credential = MercadoPagoCredential.objects.select_for_update().only("status").first()
    return credential.status if credential is not None else NOT_CONNECTED


class Undecryptable(Exception):
    """Stored values that no configured key decrypts, by ``app_label.Model.field`` and pk (the
    values themselves are never named)."""

    def __init__(self, failures: dict[str, list], counts: dict[str, int]):
        self.failures, self.counts = failures, counts  # counts: what was re-encrypted
        listed = "; ".join(
            f"{label}: {len(pks)} row(s), pk {', '.join(str(pk) for pk in pks[:LISTED_PKS])}"
            + (", ..." if len(pks) > LISTED_PKS else "")
            for label, pks in failures.items()
        )
        super().__init__(f"No configured key decrypts {listed}.")


LISTED_PKS = 20  # primary keys named per field in the message


REENCRYPT_BATCH = 500  # rows locked, re-encrypted and committed together


def reencrypt_encrypted_fields(*, batch_size: int = REENCRYPT_BATCH) -> dict[str, int]:
    """Re-encrypt every ``EncryptedTextField`` of every installed model, of every tenant, with
    the newest credential key; how many values per ``app_label.Model.field``.

    Each batch of rows is locked, rewritten and committed on its own, so writers wait for one
    batch only. The stored ciphertext is rotated as it is (``MultiFernet.rotate``): no model is
    saved, so no signal fires and no other field changes. Values that no configured key decrypts
    are left as they are and raised together at the end (``Undecryptable``), after everything
    else has been re-encrypted.
    """
    counts: dict[str, int] = {}
    failures: dict[str, list] = {}
    for model, field in crypto.encrypted_fields():
        label = crypto.field_label(model, field)
        counts[label], after = 0, None
        while True:
            with cross_tenant_scope(), transaction.atomic():
                rows = crypto.raw_values(
                    model, field, after=after, limit=batch_size, for_update=True
                )
                batch = list(rows)
                for pk, ciphertext in batch:
                    try:
                        rotated = crypto.reencrypt(ciphertext)
                    except InvalidToken:
                        failures.setdefault(label, []).append(pk)
                        continue
                    model._base_manager.filter(pk=pk).update(
                        **{field.attname: Value(rotated, output_field=models.TextField())}
                    )
                    counts[label] += 1
            if len(batch) < batch_size:
                break
            after = batch[-1][0]
    if failures:
        raise Undecryptable(failures, counts)
    return counts
