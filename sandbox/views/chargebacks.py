"""Chargebacks (``GET /v1/chargebacks/{id}``): read with the seller's token."""

from django.http import HttpRequest, JsonResponse

from sandbox import chargebacks
from sandbox.models import Token
from sandbox.views.common import Family, endpoint


def _chargeback(request: HttpRequest, token: Token, chargeback_id: str) -> JsonResponse:
    return JsonResponse(chargebacks.render(chargebacks.chargeback_of(token.account, chargeback_id)))


chargeback = endpoint(Family.LEGACY, GET=_chargeback)
