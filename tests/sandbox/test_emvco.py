"""The sandbox's EMVCo payloads parse as strict TLV and carry a correct CRC-16/CCITT-FALSE.

The CRC and the parser here are written independently of ``sandbox.emvco``.
"""

import pytest

from sandbox import emvco
from sandbox.sites import SITES
from tests.sandbox.api_helpers import Api

pytestmark = pytest.mark.django_db

# api.md §9.1, corrected copies of Mercado Pago's redacted examples.
VECTOR_A = (
    "00020101021243650016COM.MERCADOLIBRE02013063638f1192a-5fd1-4180-a180-8bcae3556bc3"
    "5204000053039865802BR5919IZABEL AAAA DE MELO6007BARUERI62070503***6304BC66"
)
VECTOR_B = (
    "00020101021226940014BR.GOV.BCB.PIX2572pix-qr.mercadopago.com/instore/o/v2/"
    "fdf9ece0-6137-4e1e-a49d-94f55ec9eee25204000053039865802BR5920FELIPE AAAAAA AAAAA "
    "6009SAO PAULO62070503***63048C65"
)


def crc_ccitt_false(text: str) -> str:
    """Bitwise CRC-16/CCITT-FALSE, table-free, MSB first."""
    register = 0xFFFF
    for bit in "".join(f"{byte:08b}" for byte in text.encode()):
        top = (register >> 15) & 1
        register = (register << 1) & 0xFFFF
        if top ^ int(bit):
            register ^= 0x1021
    return f"{register:04X}"


def strict_tlv(text: str) -> list[tuple[str, str]]:
    """Every TLV object of ``text``; fails on any length that does not add up."""
    objects, rest = [], text
    while rest:
        assert rest[:4].isdigit(), rest
        assert len(rest[:4]) == 4, rest
        length = int(rest[2:4])
        assert len(rest) >= 4 + length, rest
        objects.append((rest[:2], rest[4 : 4 + length]))
        rest = rest[4 + length :]
    return objects


def check_payload(payload: str) -> dict[str, str]:
    objects = strict_tlv(payload)
    tags = dict(objects)
    assert len(tags) == len(objects)
    assert objects[0] == ("00", "01")
    assert objects[-1][0] == "63"
    assert crc_ccitt_false(payload[:-4]) == tags["63"]
    return tags


def test_the_independent_crc_matches_the_check_value():
    assert crc_ccitt_false("123456789") == "29B1"
    assert emvco.crc16("123456789") == "29B1"


@pytest.mark.parametrize("vector", [VECTOR_A, VECTOR_B])
def test_the_corrected_vectors_of_api_md_verify(vector):
    check_payload(vector)
    assert emvco.parse(vector)["63"] == vector[-4:]


def test_a_redacted_payload_with_a_wrong_length_is_invalid():
    # As received: tag 59 declares 25 characters but the masked name has 19.
    redacted = VECTOR_A.replace("5919IZABEL", "5925IZABEL")
    with pytest.raises(emvco.InvalidPayload):
        emvco.parse(redacted)


def test_a_payload_with_a_wrong_crc_is_invalid():
    with pytest.raises(emvco.InvalidPayload, match="CRC"):
        emvco.parse(VECTOR_A[:-4] + "0000")


@pytest.mark.parametrize("site", sorted(SITES))
def test_pos_static_qr_and_dynamic_qr_data_are_valid_emvco(client, site):
    api = Api(client, site)
    pos = api.pos()
    order = api.order(pos["external_id"])
    for payload in (pos["qr_code"], order["type_response"]["qr_data"]):
        tags = check_payload(payload)
        assert tags["01"] == "12"  # Mercado Pago's static QR also says 12 (api.md §11.13)
        assert tags["52"] == "0000"
        assert tags["53"] == SITES[site].currency_numeric
        assert tags["58"] == SITES[site].country
        assert 0 < len(tags["59"]) <= 25
        assert 0 < len(tags["60"]) <= 15
        assert dict(strict_tlv(tags["62"])) == {"05": "***"}
        template, gui = ("26", "BR.GOV.BCB.PIX") if site == "MLB" else ("43", "COM.MERCADOLIBRE")
        assert dict(strict_tlv(tags[template]))["00"] == gui


def test_a_payload_names_what_the_wallet_pays(client):
    api = Api(client, "MLB")
    pos = api.pos()
    order = api.order(pos["external_id"])
    assert emvco.target(pos["qr_code"]) == emvco.Target(pos_uuid=pos["uuid"])
    assert emvco.target(order["type_response"]["qr_data"]).order_token is not None
    assert emvco.target(Api(client, "MLA").pos()["qr_code"]).pos_id is not None
