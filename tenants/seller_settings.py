"""The seller's settings page, ``/tenants/settings/``, for owners: the API and QR mode of the
orders made on the cashier page, and the logo shown on the customer display and receipts.

A logo is taken as PNG, JPEG or WebP of at most ``LOGO_MAX_BYTES``, opened with Pillow (never
trusted by its name or content type), shrunk to fit ``LOGO_MAX_SIDE`` pixels and stored
re-encoded as PNG in ``Tenant.logo_png``: what is served is always an image Pillow wrote.
"""

from io import BytesIO

from django import forms
from django.contrib import admin, messages
from django.core.files.uploadedfile import UploadedFile
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from PIL import Image, ImageOps, UnidentifiedImageError

from tenants.decorators import capability_required
from tenants.models import ORDER_API_CHOICES, QR_MODE_CHOICES, Tenant
from tenants.roles import Capability

LOGO_MAX_BYTES = 1024 * 1024
LOGO_MAX_SIDE = 512  # pixels, both ways
LOGO_MAX_PIXELS = 40_000_000  # a 1 MB file may still claim huge dimensions: refused unopened
LOGO_FORMATS = {"PNG", "JPEG", "WEBP"}


class LogoError(ValueError):
    """An upload that is not a logo we take; ``message`` says why, for the owner."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def logo_png(upload: UploadedFile) -> bytes:
    """``upload`` as a PNG of at most ``LOGO_MAX_SIDE`` pixels a side, turned upright by its
    EXIF orientation. Raises ``LogoError`` for anything but a sound PNG, JPEG or WebP of at
    most ``LOGO_MAX_BYTES``."""
    if upload.size > LOGO_MAX_BYTES:
        raise LogoError(_("The logo may be at most 1 MB; this file is larger."))
    refused = LogoError(_("The logo must be a PNG, JPEG or WebP image."))
    try:
        image = Image.open(upload)
        if image.format not in LOGO_FORMATS:
            raise refused
        if image.width * image.height > LOGO_MAX_PIXELS:
            raise LogoError(_("The logo's image is too large in pixels; use a smaller one."))
        image.draft("RGB", (LOGO_MAX_SIDE, LOGO_MAX_SIDE))  # JPEG: decode at a smaller scale
        image = ImageOps.exif_transpose(image)
    except (UnidentifiedImageError, OSError, SyntaxError, Image.DecompressionBombError):
        raise refused from None
    image.thumbnail((LOGO_MAX_SIDE, LOGO_MAX_SIDE))
    has_alpha = image.mode in ("RGBA", "LA", "PA") or "transparency" in image.info
    image = image.convert("RGBA" if has_alpha else "RGB")
    png = BytesIO()
    image.save(png, format="PNG", optimize=True)
    return png.getvalue()


def save_settings(
    *, tenant: Tenant, order_api: str, qr_mode: str, logo: bytes | None, remove_logo: bool
) -> None:
    """Store the seller's cashier-order defaults, and its new logo (PNG bytes) or its removal."""
    tenant.order_api, tenant.qr_mode = order_api, qr_mode
    fields = ["order_api", "qr_mode", "updated_at"]
    if logo is not None or remove_logo:
        tenant.logo_png = logo or b""
        tenant.logo_updated_at = timezone.now() if logo else None
        fields += ["logo_png", "logo_updated_at"]
    tenant.save(update_fields=fields)


class SellerSettingsForm(forms.Form):
    order_api = forms.ChoiceField(
        label=gettext_lazy("Mercado Pago API"),
        choices=ORDER_API_CHOICES,
        help_text=gettext_lazy("The API of the orders created on the cashier page."),
    )
    qr_mode = forms.ChoiceField(
        label=gettext_lazy("QR mode"),
        choices=QR_MODE_CHOICES,
        help_text=gettext_lazy(
            "Hybrid orders can also be paid with the POS's printed QR; dynamic ones only with "
            "the QR shown for the order."
        ),
    )
    logo = forms.FileField(
        label=gettext_lazy("Logo"),
        required=False,
        help_text=gettext_lazy(
            "PNG, JPEG or WebP, at most 1 MB; shown on the customer display and on receipts, "
            "at most 512 by 512 pixels."
        ),
        widget=forms.FileInput(attrs={"accept": "image/png,image/jpeg,image/webp"}),
    )
    remove_logo = forms.BooleanField(label=gettext_lazy("Remove the logo"), required=False)

    def clean_logo(self) -> bytes | None:
        upload = self.cleaned_data["logo"]
        if not upload:
            return None
        try:
            return logo_png(upload)
        except LogoError as error:
            raise forms.ValidationError(error.message, code="logo") from None


@capability_required(Capability.MANAGE_SELLER)
def seller_settings(request: HttpRequest) -> HttpResponse:
    """The owner's form for the seller's cashier-order defaults and logo."""
    tenant = request.tenant
    initial = {"order_api": tenant.order_api, "qr_mode": tenant.qr_mode}
    form = SellerSettingsForm(request.POST or None, request.FILES or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        save_settings(tenant=tenant, **form.cleaned_data)
        messages.success(request, _("The seller's settings were saved."))
        return redirect("tenants:settings")
    context = {
        **admin.site.each_context(request),
        "form": form,
        "tenant": tenant,
        "title": _("Seller settings"),
    }
    return render(request, "tenants/seller_settings.html", context)


@capability_required(Capability.VIEW)
def logo(request: HttpRequest) -> HttpResponse:
    """The logo of the seller the request acts for (PNG), for its pages: receipts, settings.
    Its address carries ``logo_updated_at``, so it may be cached until the logo changes."""
    if not request.tenant.logo_png:
        raise Http404("This seller has no logo.")
    response = HttpResponse(bytes(request.tenant.logo_png), content_type="image/png")
    response["Cache-Control"] = "private, max-age=86400"
    return response
