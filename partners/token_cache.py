"""Bearer tokens as authenticated a moment ago, kept in the shared cache so that an API request
costs no query to authenticate (docs/performance.md, "Lists").

What is kept, by the token's checksum, is the token's binding with its access token, app, user,
grant and seller, without any secret: not the token's own value, the app's secret, the user's
password hash or an encrypted field. They come back as model instances with those fields
deferred. An entry lives ``API_TOKEN_CACHE_SECONDS`` at most, never past the token's expiry, and
is dropped by every change that could refuse the token: the token changed or deleted (DOT's
revocation and rotation, an app deleted), its grant changed or revoked, its seller changed
(suspended). ``API_TOKEN_CACHE_SECONDS`` is 0, and nothing is kept, unless the cache is shared by
every process (Redis): a process's own memory would keep a revoked token in the others.
"""

from collections.abc import Iterable
from datetime import datetime

from django.conf import settings
from django.core.cache import cache
from django.db import DEFAULT_DB_ALIAS, models, transaction
from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver
from django.utils import timezone
from oauth2_provider.models import AccessToken, get_application_model

from partners.models import GrantedToken, PartnerGrant
from tenants.crypto import EncryptedTextField
from tenants.models import Tenant, User
from tenants.scope import cross_tenant_scope

Application = get_application_model()

# Never kept: the values that authenticate (or decrypt) something by themselves.
SECRET_FIELDS = {"token", "client_secret", "password"}

Snapshot = tuple[list[str], list]


def _key(checksum: str) -> str:
    return f"api-token:{checksum}"


def _snapshot(instance: models.Model) -> Snapshot:
    names = [
        field.attname
        for field in instance._meta.concrete_fields
        if field.attname not in SECRET_FIELDS and not isinstance(field, EncryptedTextField)
    ]
    return names, [getattr(instance, name) for name in names]


def _restore(model: type[models.Model], snapshot: Snapshot) -> models.Model:
    names, values = snapshot
    return model.from_db(DEFAULT_DB_ALIAS, names, values)


def cached_binding(checksum: str) -> GrantedToken | None:
    """The binding of the token whose checksum is ``checksum``, as kept; None if not kept."""
    if not settings.API_TOKEN_CACHE_SECONDS:
        return None
    kept = cache.get(_key(checksum))
    if kept is None:
        return None
    binding = _restore(GrantedToken, kept["binding"])
    access_token = _restore(AccessToken, kept["access_token"])
    access_token.application = _restore(Application, kept["application"])
    access_token.user = _restore(User, kept["user"]) if kept["user"] else None
    binding.access_token = access_token
    binding.grant = _restore(PartnerGrant, kept["grant"])
    binding.grant.tenant = _restore(Tenant, kept["tenant"])
    return binding


def keep(checksum: str, binding: GrantedToken) -> None:
    """Keep ``binding`` (loaded with its token, app, user, grant and seller) for a while, if the
    token it binds may be used now."""
    seconds = _seconds_to_keep(binding.access_token.expires)
    if seconds <= 0 or binding.revoked_at is not None or not binding.grant.is_usable:
        return
    access_token = binding.access_token
    kept = {
        "binding": _snapshot(binding),
        "access_token": _snapshot(access_token),
        "application": _snapshot(access_token.application),
        "user": _snapshot(access_token.user) if access_token.user else None,
        "grant": _snapshot(binding.grant),
        "tenant": _snapshot(binding.grant.tenant),
    }
    cache.set(_key(checksum), kept, seconds)


def _seconds_to_keep(expires: datetime) -> int:
    left = int((expires - timezone.now()).total_seconds())
    return min(settings.API_TOKEN_CACHE_SECONDS, left)


def forget(checksums: Iterable[str]) -> None:
    """Drop the kept tokens of ``checksums``, now and again once the transaction commits (a
    request that read them before the commit may have kept them meanwhile)."""
    keys = [_key(checksum) for checksum in checksums if checksum]
    if not keys or not settings.API_TOKEN_CACHE_SECONDS:
        return
    cache.delete_many(keys)
    transaction.on_commit(lambda: cache.delete_many(keys), robust=True)


def forget_tokens(*, grant_ids: Iterable[int] = (), tenant_id: int | None = None) -> None:
    """Drop the kept tokens bound to the grants ``grant_ids``, or to every grant of a seller."""
    if not settings.API_TOKEN_CACHE_SECONDS:
        return
    with cross_tenant_scope():
        bindings = GrantedToken.objects.filter(access_token__expires__gt=timezone.now())
        if tenant_id is not None:
            bindings = bindings.filter(tenant_id=tenant_id)
        else:
            bindings = bindings.filter(grant_id__in=list(grant_ids))
        forget(list(bindings.values_list("access_token__token_checksum", flat=True)))


@receiver(post_save, sender=AccessToken, dispatch_uid="partners.token_cache.token_saved")
@receiver(post_delete, sender=AccessToken, dispatch_uid="partners.token_cache.token_deleted")
def _token_changed(sender, instance: AccessToken, **kwargs) -> None:
    forget([instance.token_checksum])


@receiver(post_save, sender=PartnerGrant, dispatch_uid="partners.token_cache.grant_saved")
def _grant_changed(sender, instance: PartnerGrant, created: bool, **kwargs) -> None:
    if not created:
        forget_tokens(grant_ids=[instance.pk])


@receiver(post_save, sender=Tenant, dispatch_uid="partners.token_cache.seller_saved")
def _seller_changed(sender, instance: Tenant, created: bool, **kwargs) -> None:
    if not created:
        forget_tokens(tenant_id=instance.pk)
