"""Users: ``GET /users/me``, the account of the Bearer token."""

from django.http import HttpRequest, JsonResponse

from sandbox.models import Token
from sandbox.sites import SITES
from sandbox.views.common import Family, endpoint


def _me(request: HttpRequest, token: Token) -> JsonResponse:
    account = token.account
    site = SITES.get(account.site_id)
    return JsonResponse(
        {
            "id": account.user_id,
            "nickname": account.nickname,
            "country_id": site.country if site else None,
            "email": f"test_user_{account.user_id}@testuser.com",
            "site_id": account.site_id,
            "user_type": "normal",
            "tags": ["normal", "test_user"],
            "status": {"site_status": "active"},
        }
    )


me = endpoint(Family.LEGACY, GET=_me)
