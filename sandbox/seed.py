"""The sandbox's well-known identities, created after every migrate (idempotently).

These values are public: they let the embedded platform run with no configuration. The
platform's ``merchant_platform/mercadopago.py`` mirrors the application's identity.
"""

from django.conf import settings

from sandbox.models import Account, Application, Token

INTEGRATOR_USER_ID = 900000001
CLIENT_ID = "8000000000000001"
CLIENT_SECRET = "sandbox-client-secret"  # noqa: S105
WEBHOOK_SECRET = "sandbox-webhook-secret"  # noqa: S105
ACCOUNT_PASSWORD = "sandbox"  # noqa: S105 (sign-in on the sandbox's OAuth page)

# One test seller and one test buyer per site: (site, seller user id, buyer user id, city).
SITES = [
    ("MLA", 100000001, 200000001, "BUENOS AIRES"),
    ("MLB", 100000002, 200000002, "SAO PAULO"),
    ("MLM", 100000003, 200000003, "CIUDAD DE MEXICO"[:15]),
    ("MLC", 100000004, 200000004, "SANTIAGO"),
    ("MCO", 100000005, 200000005, "BOGOTA"),
    ("MPE", 100000006, 200000006, "LIMA"),
    ("MLU", 100000007, 200000007, "MONTEVIDEO"),
]


def seller_access_token(site: str) -> str:
    """The own-application (non-OAuth) access token of the test seller of ``site``."""
    return f"APP_USR-{CLIENT_ID}-000000-sandbox{site.lower()}seller-{_seller_id(site)}"


def _seller_id(site: str) -> int:
    return next(seller for code, seller, _buyer, _city in SITES if code == site)


def seed(**kwargs) -> None:
    """Create the integrator, its application and the test sellers and buyers.

    A new application's webhook URL is ``SANDBOX_WEBHOOK_URL``, as an integrator would set it
    in Mercado Pago's dashboard; it can be changed on the control page.
    """
    integrator, _ = Account.objects.get_or_create(
        user_id=INTEGRATOR_USER_ID,
        defaults={"nickname": "INTEGRATOR", "kind": Account.Kind.INTEGRATOR, "site_id": "MLA"},
    )
    Application.objects.get_or_create(
        client_id=CLIENT_ID,
        defaults={
            "client_secret": CLIENT_SECRET,
            "owner": integrator,
            "name": "Merchant platform (sandbox)",
            "webhook_secret": WEBHOOK_SECRET,
            "webhook_url": getattr(settings, "SANDBOX_WEBHOOK_URL", ""),
        },
    )
    for site, seller_id, buyer_id, city in SITES:
        seller, _ = Account.objects.get_or_create(
            user_id=seller_id,
            defaults={
                "nickname": f"TESTSELLER{site}",
                "kind": Account.Kind.SELLER,
                "site_id": site,
                "merchant_name": f"SANDBOX SELLER {site}",
                "merchant_city": city,
                "password": ACCOUNT_PASSWORD,
            },
        )
        Account.objects.get_or_create(
            user_id=buyer_id,
            defaults={
                "nickname": f"TESTBUYER{site}",
                "kind": Account.Kind.BUYER,
                "site_id": site,
                "password": ACCOUNT_PASSWORD,
            },
        )
        Token.objects.get_or_create(
            access_token=seller_access_token(site),
            defaults={"account": seller, "via_oauth": False, "public_key": f"APP_USR-pk-{site}"},
        )
