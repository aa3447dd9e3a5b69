"""Encryption at rest of secrets in the database (Fernet keys from settings).

``MERCADOPAGO_CREDENTIAL_KEYS`` lists the keys newest first: the first encrypts, all decrypt, so a
new key can be added in front and old ciphertexts re-encrypted (``rotate_credential_keys``, which
re-encrypts every ``EncryptedTextField`` of every installed model) before the old key is dropped.

``undecryptable_secrets`` tells readiness which stored values no configured key decrypts any more
(a key dropped before its ciphertexts were re-encrypted).
"""

import hashlib
import logging
from collections.abc import Iterator

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.apps import apps
from django.core.cache import cache
from django.db import models
from django.db.models.functions import Cast

from merchant_platform.mercadopago import get_config
from tenants.scope import cross_tenant_scope

logger = logging.getLogger(__name__)

SCAN_BATCH = 1000  # rows read per query when scanning a table's ciphertexts
SCAN_CACHE_SECONDS = 60  # how long a scan's result answers readiness


def _fernet() -> MultiFernet:
    return MultiFernet([Fernet(key) for key in get_config().credential_keys])


def encrypt(plaintext: str) -> str:
    return _fernet().encrypt(plaintext.encode()).decode()


def decrypt(ciphertext: str) -> str:
    return _fernet().decrypt(ciphertext.encode()).decode()


def reencrypt(ciphertext: str) -> str:
    """``ciphertext`` encrypted again with the newest key; ``InvalidToken`` if no key reads it."""
    return _fernet().rotate(ciphertext.encode()).decode()


FERNET_PREFIX = "gAAAAA"  # every Fernet token starts so (version byte 0x80 and a timestamp)


class EncryptedTextField(models.TextField):
    """Text stored encrypted; read back as plain text. Empty stays empty.

    Serialisation (``dumpdata``) writes the ciphertext, and loading it back decrypts it, so a
    dump never holds a credential in clear text.
    """

    def from_db_value(self, value, expression, connection):
        return decrypt(value) if value else value

    def to_python(self, value):
        if isinstance(value, str) and value.startswith(FERNET_PREFIX):
            return decrypt(value)
        return super().to_python(value)

    def get_prep_value(self, value):
        value = super().get_prep_value(value)
        return encrypt(value) if value else value

    def value_to_string(self, obj):
        value = self.value_from_object(obj)
        return encrypt(value) if value else value


# Every encrypted field ---------------------------------------------------------------------


def encrypted_fields() -> list[tuple[type[models.Model], EncryptedTextField]]:
    """Every concrete ``EncryptedTextField`` of every installed model, by label: found by type,
    so a field added later is rotated and checked without being listed anywhere."""
    found = [
        (model, field)
        for model in apps.get_models()
        if not model._meta.proxy and model._meta.managed
        for field in model._meta.concrete_fields
        if isinstance(field, EncryptedTextField)
    ]
    return sorted(found, key=lambda pair: field_label(*pair))


def field_label(model: type[models.Model], field: models.Field) -> str:
    """``app_label.Model.field``."""
    return f"{model._meta.label}.{field.name}"


def raw_values(
    model: type[models.Model],
    field: models.Field,
    *,
    after=None,
    limit: int = SCAN_BATCH,
    for_update: bool = False,
) -> models.QuerySet:
    """``(pk, ciphertext)`` of ``model``'s rows with a non-empty ``field``, every tenant's, by pk
    (from ``after``, at most ``limit``, locked ``for_update``): the stored text, not decrypted."""
    rows = model._base_manager.exclude(**{f"{field.attname}__isnull": True}).exclude(
        **{field.attname: ""}
    )
    if after is not None:
        rows = rows.filter(pk__gt=after)
    if for_update:
        rows = rows.select_for_update()
    ciphertext = Cast(field.attname, output_field=models.TextField())
    return (
        rows.order_by("pk")
        .annotate(_ciphertext=ciphertext)
        .values_list("pk", "_ciphertext")[:limit]
    )


def _undecryptable_pks(model: type[models.Model], field: models.Field) -> Iterator[object]:
    fernet, after = _fernet(), None
    with cross_tenant_scope():
        while batch := list(raw_values(model, field, after=after)):
            for pk, ciphertext in batch:
                try:
                    fernet.decrypt(ciphertext.encode())
                except InvalidToken:
                    yield pk
            after = batch[-1][0]


def scan_undecryptable() -> dict[str, int]:
    """``app_label.Model.field`` -> how many stored values no configured key decrypts (fields
    where all decrypt are left out). Reads every ciphertext: see ``undecryptable_secrets``."""
    counts = {}
    for model, field in encrypted_fields():
        count = sum(1 for _ in _undecryptable_pks(model, field))
        if count:
            counts[field_label(model, field)] = count
    return counts


def undecryptable_secrets() -> dict[str, int]:
    """``scan_undecryptable()``, kept ``SCAN_CACHE_SECONDS`` in the default cache per set of
    configured keys, so readiness probes scan at most once a minute (and at once after the keys
    change). Empty when every stored secret decrypts."""
    keys = "\n".join(get_config().credential_keys).encode()
    cache_key = f"crypto:undecryptable:{hashlib.sha256(keys).hexdigest()[:16]}"
    try:
        counts = cache.get(cache_key)
    except Exception:  # a cache that is down must not hide the answer
        logger.warning("undecryptable secrets: the cache cannot be read; scanning", exc_info=True)
        return scan_undecryptable()
    if counts is None:
        counts = scan_undecryptable()
        try:
            cache.set(cache_key, counts, SCAN_CACHE_SECONDS)
        except Exception:
            logger.warning("undecryptable secrets: the cache cannot be written", exc_info=True)
    return counts
