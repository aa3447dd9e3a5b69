"""Encryption at rest for sellers' Mercado Pago credentials (Fernet keys from settings).

``MERCADOPAGO_CREDENTIAL_KEYS`` lists the keys newest first: the first encrypts, all decrypt, so a
new key can be added in front and old ciphertexts re-encrypted (``rotate_credential_keys``, which
saves every credential again) before the old key is dropped.
"""

from cryptography.fernet import Fernet, MultiFernet
from django.db import models

from merchant_platform.mercadopago import get_config


def _fernet() -> MultiFernet:
    return MultiFernet([Fernet(key) for key in get_config().credential_keys])


def encrypt(plaintext: str) -> str:
    return _fernet().encrypt(plaintext.encode()).decode()


def decrypt(ciphertext: str) -> str:
    return _fernet().decrypt(ciphertext.encode()).decode()


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
