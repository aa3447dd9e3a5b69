"""Second factor (TOTP, django-otp) for platform staff: who may enrol, enrolment, verification.

Only platform staff (superusers and ``is_platform_staff`` users) enrol; with
``STAFF_REQUIRE_2FA`` they must before any page (accounts.middleware). A user with a confirmed
device signs in with its code (accounts.forms.AdminLoginForm).
"""

from base64 import b32encode, b64encode
from io import BytesIO

import qrcode
import qrcode.image.svg
from django.contrib.auth.base_user import AbstractBaseUser
from django.db import transaction
from django_otp import verify_token
from django_otp.plugins.otp_totp.models import TOTPDevice

DEVICE_NAME = "Authenticator app"


def may_enrol(user: AbstractBaseUser) -> bool:
    """Whether the user is platform staff, who can (and may be required to) use a second factor."""
    return bool(user.is_active and (user.is_superuser or getattr(user, "is_platform_staff", False)))


def has_second_factor(user: AbstractBaseUser) -> bool:
    """Whether the user has a confirmed authenticator app."""
    return TOTPDevice.objects.filter(user=user, confirmed=True).exists()


def pending_device(user: AbstractBaseUser) -> TOTPDevice:
    """The user's device being enrolled (created on first use, the same one until confirmed)."""
    device = TOTPDevice.objects.filter(user=user, confirmed=False).order_by("pk").first()
    if device is None:
        device = TOTPDevice.objects.create(user=user, name=DEVICE_NAME, confirmed=False)
    return device


def secret_text(device: TOTPDevice) -> str:
    """The device's secret in base32, in groups of four, for typing into an app by hand."""
    secret = b32encode(device.bin_key).decode().rstrip("=")
    return " ".join(secret[i : i + 4] for i in range(0, len(secret), 4))


def qr_data_uri(device: TOTPDevice) -> str:
    """The device's ``otpauth://`` URL as an SVG QR code, in a ``data:`` URI."""
    image = qrcode.make(device.config_url, image_factory=qrcode.image.svg.SvgPathImage)
    buffer = BytesIO()
    image.save(buffer)
    return "data:image/svg+xml;base64," + b64encode(buffer.getvalue()).decode()


def confirm_device(user: AbstractBaseUser, token: str) -> TOTPDevice | None:
    """Confirm the pending device with a code it shows; it replaces any earlier device.

    Returns the confirmed device, or None when the code is wrong (django-otp throttles retries).
    """
    device = TOTPDevice.objects.filter(user=user, confirmed=False).order_by("pk").first()
    if device is None:
        return None
    verified = verify_token(user, device.persistent_id, token.strip())
    if verified is None:
        return None
    with transaction.atomic():
        TOTPDevice.objects.filter(user=user).exclude(pk=verified.pk).delete()
        verified.confirmed = True
        verified.save(update_fields=["confirmed"])
    return verified


def verify_code(user: AbstractBaseUser, token: str) -> TOTPDevice | None:
    """The user's confirmed device that accepts ``token`` (each code once), or None."""
    token = (token or "").strip()
    if not token:
        return None
    for device in TOTPDevice.objects.filter(user=user, confirmed=True):
        verified = verify_token(user, device.persistent_id, token)
        if verified is not None:
            return verified
    return None


def reset_second_factor(user: AbstractBaseUser) -> int:
    """Remove the user's devices (a lost phone); returns how many were removed."""
    removed, _ = TOTPDevice.objects.filter(user=user).delete()
    return removed
