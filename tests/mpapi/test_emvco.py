"""EMVCo payloads: strict TLV, templates, CRC-16/CCITT-FALSE (api.md §9)."""

import pytest

from mpapi.emvco import DataObject, InvalidPayload, crc16, is_valid, parse, verify

# api.md §9.1: the corrected copies of the two qr_data examples of the dynamic-model guide.
VECTOR_A = (
    "00020101021243650016COM.MERCADOLIBRE02013063638f1192a-5fd1-4180-a180-8bcae3556bc3"
    "5204000053039865802BR5919IZABEL AAAA DE MELO6007BARUERI62070503***6304BC66"
)
VECTOR_B = (
    "00020101021226940014BR.GOV.BCB.PIX2572pix-qr.mercadopago.com/instore/o/v2/"
    "fdf9ece0-6137-4e1e-a49d-94f55ec9eee25204000053039865802BR5920FELIPE AAAAAA AAAAA "
    "6009SAO PAULO62070503***63048C65"
)
# The same examples as published (seeds/qr-dynamic-model-integration.md): names masked, so tag
# 59 declares 25 characters it does not have and the CRCs do not match.
REDACTED_A = (
    "00020101021243650016COM.MERCADOLIBRE02013063638f1192a-5fd1-4180-a180-8bcae3556bc3"
    "5204000053039865802BR5925IZABEL AAAA DE MELO6007BARUERI62070503***63040B6D"
)
REDACTED_B = (
    "00020101021226940014BR.GOV.BCB.PIX2572pix-qr.mercadopago.com/instore/o/v2/"
    "fdf9ece0-6137-4e1e-a49d-94f55ec9eee25204000053039865802BR5925FELIPE AAAAAA AAAAA "
    "6009SAO PAULO62070503***6304B61D"
)


def test_crc_check_value():
    assert crc16("123456789") == "29B1"


@pytest.mark.parametrize("payload", [VECTOR_A, VECTOR_B])
def test_the_corrected_vectors_verify(payload):
    assert is_valid(payload)
    tags = [item.tag for item in verify(payload)]
    assert tags == ["00", "01", tags[2], "52", "53", "58", "59", "60", "62", "63"]


def test_templates_are_parsed_as_tlv():
    objects = {item.tag: item for item in verify(VECTOR_B)}
    assert objects["26"].children == (
        DataObject("00", "BR.GOV.BCB.PIX"),
        DataObject(
            "25", "pix-qr.mercadopago.com/instore/o/v2/fdf9ece0-6137-4e1e-a49d-94f55ec9eee2"
        ),
    )
    assert objects["62"].children == (DataObject("05", "***"),)
    assert objects["53"] == DataObject("53", "986")
    assert objects["59"].value == "FELIPE AAAAAA AAAAA "


@pytest.mark.parametrize("payload", [REDACTED_A, REDACTED_B])
def test_the_redacted_originals_are_invalid(payload):
    assert not is_valid(payload)
    with pytest.raises(InvalidPayload, match="a declared length earlier in the payload"):
        verify(payload)


def test_a_crc_mismatch_is_reported():
    tampered = VECTOR_A.replace("BARUERI", "BARUERY")
    with pytest.raises(InvalidPayload, match="CRC mismatch: the payload says BC66, computed"):
        verify(tampered)


def test_a_length_running_past_the_end_is_reported():
    with pytest.raises(InvalidPayload, match="tag 59 declares 30 characters but only 4 remain"):
        parse("000201" + "5930ABCD")


def test_a_broken_template_is_reported():
    # Template 62 declares 7 characters, but its sub-object 05 declares 4 inside them.
    with pytest.raises(InvalidPayload, match="tag 05 declares 4 characters but only 3 remain"):
        parse("62070504***")


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        ("", "must start with tag 00"),
        ("0102126304" + crc16("0102126304"), "must start with tag 00"),
        ("000201", "must end with tag 63"),
        ("000201" + "6304" + crc16("0002016304").lower(), "4 uppercase hex digits"),
        ("000201" + "63051234A", "must end with tag 63"),
    ],
)
def test_structure_is_checked(payload, message):
    with pytest.raises(InvalidPayload, match=message):
        verify(payload)


def test_a_minimal_payload_verifies():
    body = "000201" + "6304"
    assert verify(body + crc16(body))[-1] == DataObject("63", crc16(body))
