"""EMVCo merchant-presented QR payloads (api.md §9), as Mercado Pago's ``qr_data``/``qr_code``.

A payload is a run of TLV objects (two-digit tag, two-digit length, value) ending with tag 63,
a CRC-16/CCITT-FALSE over everything before its value. The merchant-account template names what
the wallet pays: tag 43 (GUI ``COM.MERCADOLIBRE``) outside Brazil, tag 26 (GUI
``BR.GOV.BCB.PIX``) in Brazil, each with a URL or a UUID naming the order or the POS.
"""

import re
import unicodedata
from dataclasses import dataclass

from sandbox.sites import Site

MERCADOLIBRE_GUI = "COM.MERCADOLIBRE"
PIX_GUI = "BR.GOV.BCB.PIX"
POS_URL = "https://mpago.la/pos/{pos_id}"
PIX_ORDER_URL = "pix-qr.mercadopago.com/instore/o/v2/{token}"
PIX_POS_URL = "pix-qr-h.mercadopago.com/instore/h/p/v2/{uuid}"
_POS_ID = re.compile(r"^https://mpago\.la/pos/(\d+)$")
_PIX_ORDER = re.compile(r"^pix-qr\.mercadopago\.com/instore/o/v2/([0-9a-f-]{36})$")
_PIX_POS = re.compile(r"^pix-qr-h\.mercadopago\.com/instore/h/p/v2/([0-9a-f]{32})$")
_UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")


class InvalidPayload(ValueError):
    """The text is not a well-formed EMVCo payload with a correct CRC."""


def crc16(data: str) -> str:
    """CRC-16/CCITT-FALSE of ``data`` as four uppercase hex digits."""
    crc = 0xFFFF
    for byte in data.encode():
        crc ^= byte << 8
        for _ in range(8):
            crc = (crc << 1) ^ 0x1021 if crc & 0x8000 else crc << 1
            crc &= 0xFFFF
    return f"{crc:04X}"


def tlv(tag: str, value: str) -> str:
    """One TLV object; values longer than 99 characters cannot be encoded."""
    if len(value) > 99:
        raise ValueError(f"EMVCo tag {tag} value is longer than 99 characters")
    return f"{tag}{len(value):02d}{value}"


def _text(value: str, limit: int) -> str:
    """Upper-case ASCII text cut to ``limit`` characters, as tags 59 and 60 need."""
    ascii_text = unicodedata.normalize("NFKD", value).encode("ascii", "ignore").decode()
    return ascii_text.upper()[:limit].strip() or "NA"


def build(site: Site, account_info: str, merchant_name: str, merchant_city: str) -> str:
    """A complete payload around the merchant-account template ``account_info``."""
    body = (
        tlv("00", "01")
        + tlv("01", "12")  # Mercado Pago uses 12 even on a POS's static QR (api.md §11.13)
        + account_info
        + tlv("52", "0000")
        + tlv("53", site.currency_numeric)
        + tlv("58", site.country)
        + tlv("59", _text(merchant_name, 25))
        + tlv("60", _text(merchant_city, 15))
        + tlv("62", tlv("05", "***"))
        + "6304"
    )
    return body + crc16(body)


def order_account_info(site: Site, token: str) -> str:
    """The merchant-account template naming an order by its ``qr_token``."""
    if site.id == "MLB":
        return tlv("26", tlv("00", PIX_GUI) + tlv("25", PIX_ORDER_URL.format(token=token)))
    return tlv("43", tlv("00", MERCADOLIBRE_GUI) + tlv("06", token))


def pos_account_info(site: Site, pos_id: int, pos_uuid: str) -> str:
    """The merchant-account template of a POS's static QR."""
    if site.id == "MLB":
        return tlv("26", tlv("00", PIX_GUI) + tlv("25", PIX_POS_URL.format(uuid=pos_uuid)))
    return tlv("43", tlv("00", MERCADOLIBRE_GUI) + tlv("01", POS_URL.format(pos_id=pos_id)))


def parse(payload: str) -> dict[str, str]:
    """The top-level tags of ``payload``, checking TLV lengths, tag order and the CRC."""
    tags: dict[str, str] = {}
    position = 0
    while position < len(payload):
        tag, length = payload[position : position + 2], payload[position + 2 : position + 4]
        if not (tag.isdigit() and length.isdigit() and len(tag) == len(length) == 2):
            raise InvalidPayload(f"bad TLV header at {position}")
        value = payload[position + 4 : position + 4 + int(length)]
        if len(value) != int(length) or tag in tags:
            raise InvalidPayload(f"bad TLV object {tag} at {position}")
        tags[tag] = value
        position += 4 + int(length)
    if not payload.startswith("000201") or list(tags)[-1:] != ["63"] or len(tags["63"]) != 4:
        raise InvalidPayload("a payload starts with tag 00 and ends with tag 63")
    if crc16(payload[:-4]) != tags["63"].upper():
        raise InvalidPayload("CRC mismatch")
    return tags


@dataclass(frozen=True)
class Target:
    """What a payload names: an order (by its ``qr_token``) or a POS (by id or by uuid)."""

    order_token: str | None = None
    pos_id: int | None = None
    pos_uuid: str | None = None


def target(payload: str) -> Target:
    """What the wallet should pay for ``payload``; ``InvalidPayload`` when it names nothing."""
    tags = parse(payload)
    for template in ("26", "43"):
        if template in tags:
            for value in _subtags(tags[template]).values():
                if match := _POS_ID.match(value):
                    return Target(pos_id=int(match[1]))
                if match := _PIX_POS.match(value):
                    return Target(pos_uuid=match[1])
                if match := _PIX_ORDER.match(value):
                    return Target(order_token=match[1])
                if _UUID.match(value):
                    return Target(order_token=value)
    raise InvalidPayload("the payload names no Mercado Pago order or POS")


def _subtags(template: str) -> dict[str, str]:
    subtags = {}
    position = 0
    while position < len(template):
        tag, length = template[position : position + 2], template[position + 2 : position + 4]
        if not length.isdigit():
            raise InvalidPayload("bad merchant-account template")
        subtags[tag] = template[position + 4 : position + 4 + int(length)]
        position += 4 + int(length)
    return subtags
