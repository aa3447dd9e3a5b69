"""EMVCo merchant-presented QR payloads: strict TLV parsing and the CRC of tag 63.

A payload is a run of data objects ``ID (2 digits) + LEN (2 digits) + VALUE``; templates (tags
26-51, 62 and 80-99) hold data objects of their own. The payload ends with ``6304`` and the
CRC-16/CCITT-FALSE of everything before it (``6304`` included), in 4 uppercase hex digits.

Rendering code treats ``qr_data`` as opaque text; these functions are for tests and checks.
"""

import re
from dataclasses import dataclass

TEMPLATE_TAGS = frozenset(
    [f"{tag:02d}" for tag in range(26, 52)] + ["62"] + [f"{tag:02d}" for tag in range(80, 100)]
)
CRC_TAG = "63"
_DIGITS = re.compile(r"\d\d")
_HEX4 = re.compile(r"[0-9A-F]{4}")


class InvalidPayload(ValueError):
    """The payload is not a well-formed EMVCo payload, or its CRC does not match."""


@dataclass(frozen=True)
class DataObject:
    """One TLV object; ``children`` holds the parsed content of a template."""

    tag: str
    value: str
    children: tuple["DataObject", ...] = ()


def crc16(data: str) -> str:
    """CRC-16/CCITT-FALSE of ``data`` (poly 0x1021, init 0xFFFF), as 4 uppercase hex digits."""
    crc = 0xFFFF
    for byte in data.encode("utf-8"):
        crc ^= byte << 8
        for _ in range(8):
            crc = ((crc << 1) ^ 0x1021) if crc & 0x8000 else crc << 1
            crc &= 0xFFFF
    return f"{crc:04X}"


def parse(payload: str) -> tuple[DataObject, ...]:
    """Parse ``payload`` into data objects, templates included; ``InvalidPayload`` on any
    length inconsistency."""
    return _parse(payload, offset=0, template=False)


def _parse(text: str, *, offset: int, template: bool) -> tuple[DataObject, ...]:
    objects = []
    position = 0
    while position < len(text):
        where = offset + position
        header = text[position : position + 4]
        if len(header) < 4 or not (_DIGITS.fullmatch(header[:2]) and _DIGITS.fullmatch(header[2:])):
            raise InvalidPayload(
                f"at position {where}: expected a 2-digit tag and a 2-digit length, found "
                f"{header!r} (a declared length earlier in the payload is probably wrong)"
            )
        tag, length = header[:2], int(header[2:])
        value = text[position + 4 : position + 4 + length]
        if len(value) < length:
            raise InvalidPayload(
                f"at position {where}: tag {tag} declares {length} characters but only "
                f"{len(value)} remain"
            )
        children = (
            _parse(value, offset=where + 4, template=True)
            if not template and tag in TEMPLATE_TAGS
            else ()
        )
        objects.append(DataObject(tag, value, children))
        position += 4 + length
    return tuple(objects)


def verify(payload: str) -> tuple[DataObject, ...]:
    """Parse ``payload`` and check its structure and CRC; the data objects, or ``InvalidPayload``.

    Checks: strict TLV (templates included), tag 00 first with value ``01``, tag 63 last with 4
    uppercase hex digits equal to the CRC computed over the rest of the payload.
    """
    objects = parse(payload)
    if not objects or objects[0].tag != "00" or objects[0].value != "01":
        raise InvalidPayload("the payload must start with tag 00 (payload format indicator 01)")
    last = objects[-1]
    if last.tag != CRC_TAG or not _HEX4.fullmatch(last.value):
        raise InvalidPayload("the payload must end with tag 63 holding 4 uppercase hex digits")
    expected = crc16(payload[:-4])
    if last.value != expected:
        raise InvalidPayload(f"CRC mismatch: the payload says {last.value}, computed {expected}")
    return objects


def is_valid(payload: str) -> bool:
    """Whether :func:`verify` accepts ``payload``."""
    try:
        verify(payload)
    except InvalidPayload:
        return False
    return True
