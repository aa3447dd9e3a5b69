"""A small client of the sandbox's emulated API for its tests (Django's test client, real views)."""

import json
from contextlib import contextmanager
from datetime import timedelta
from unittest.mock import patch

from django.test import Client
from django.utils import timezone

from sandbox.seed import SITES, seller_access_token

SELLER_IDS = {site: seller for site, seller, _buyer, _city in SITES}
BUYER_IDS = {site: buyer for site, _seller, buyer, _city in SITES}
# A point inside each site, for store locations.
COORDINATES = {
    "MLA": (-34.6037, -58.3816),
    "MLB": (-23.5505, -46.6333),
    "MLM": (19.4326, -99.1332),
    "MLC": (-33.4489, -70.6693),
    "MCO": (4.711, -74.0721),
    "MPE": (-12.0464, -77.0428),
    "MLU": (-34.9011, -56.1645),
}


@contextmanager
def later(delta: timedelta):
    """Run as if ``delta`` had passed (``django.utils.timezone.now`` moved forward)."""
    moment = timezone.now() + delta
    with patch("django.utils.timezone.now", return_value=moment):
        yield


def location(site: str = "MLA") -> dict:
    latitude, longitude = COORDINATES[site]
    return {
        "street_number": "123",
        "street_name": "Main street",
        "city_name": "Capital",
        "state_name": "Capital",
        "latitude": latitude,
        "longitude": longitude,
    }


class Api:
    """Calls the sandbox as the test seller of ``site``."""

    def __init__(self, client: Client, site: str = "MLA"):
        self.client = client
        self.site = site
        self.user_id = SELLER_IDS[site]
        self.token = seller_access_token(site)

    def call(self, method: str, path: str, body=None, *, key: str | None = None, token=None):
        headers = {}
        if token is not False:
            headers["Authorization"] = f"Bearer {token or self.token}"
        if key is not None:
            headers["X-Idempotency-Key"] = key
        data = json.dumps(body) if body is not None else ""
        return self.client.generic(
            method, f"/sandbox{path}", data, content_type="application/json", headers=headers
        )

    def store(self, external_id: str = "STORE1", **fields) -> dict:
        body = {"name": "Main store", "external_id": external_id, "location": location(self.site)}
        response = self.call("POST", f"/users/{self.user_id}/stores", body | fields)
        assert response.status_code == 200, response.content
        return response.json()

    def pos(self, external_id: str = "POS1", store: dict | None = None, **fields) -> dict:
        store = store or self.store(external_id=f"S{external_id}")
        body = {
            "name": "Checkout 1",
            "fixed_amount": True,
            "store_id": store["id"],
            "external_store_id": store["external_id"],
            "external_id": external_id,
        }
        response = self.call("POST", "/pos", body | fields)
        assert response.status_code == 200, response.content
        return response.json()

    def create_order(self, external_pos_id: str, key: str = "key-1", **fields):
        """``POST /v1/orders`` for 50.00 (whole for CLP/COP), dynamic unless told."""
        amount = "50" if self.site in ("MLC", "MCO") else "50.00"
        body = {
            "type": "qr",
            "external_reference": "sale-1",
            "total_amount": amount,
            "config": {"qr": {"external_pos_id": external_pos_id, "mode": "dynamic"}},
            "transactions": {"payments": [{"amount": amount}]},
        }
        return self.call("POST", "/v1/orders", body | fields, key=key)

    def order(self, external_pos_id: str, **fields) -> dict:
        response = self.create_order(external_pos_id, **fields)
        assert response.status_code == 201, response.content
        return response.json()

    def pay(self, **purchase):
        return self.client.post(
            "/sandbox/wallet/pay", json.dumps(purchase), content_type="application/json"
        )
