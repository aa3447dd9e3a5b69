"""The Mercado Pago client: one method per endpoint the platform uses.

The seller's access token is an argument of every call, never state of the client, so one client
serves every seller. Writes that Mercado Pago deduplicates take the caller's idempotency key,
which the client sends unchanged on every retry.
"""

from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from decimal import Decimal
from functools import partial
from typing import TypeVar
from urllib.parse import quote

from mpapi.amounts import legacy_amount, order_amount
from mpapi.config import ClientConfig
from mpapi.errors import UnexpectedResponse
from mpapi.instore import InstoreOrder, InstoreOrderRequest, QRCode
from mpapi.oauth import OAuthToken, authorization_url
from mpapi.orders import Order, OrderCreate, RefundTransaction, search_query
from mpapi.parsing import JSON, Page, page
from mpapi.payments import MerchantOrder, Payment, PaymentRefund
from mpapi.reports import ReportsMixin
from mpapi.sandbox import SandboxChange
from mpapi.session import Call, Session
from mpapi.stores import Pos, PosCreate, PosUpdate, Store, StoreRequest
from mpapi.users import User

T = TypeVar("T")


def _segment(value: object) -> str:
    """A path parameter, percent-encoded so that it stays one path segment."""
    return quote(str(value), safe="")


def _query(**params: object) -> dict[str, str]:
    return {key: str(value) for key, value in params.items() if value is not None}


class MercadoPagoClient(ReportsMixin):
    """A typed client of the Mercado Pago API. Use it as a context manager, or call ``close``."""

    def __init__(self, config: ClientConfig | None = None) -> None:
        self.config = config or ClientConfig()
        self._session = Session(self.config)

    def close(self) -> None:
        self._session.close()

    def __enter__(self) -> "MercadoPagoClient":
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # Legacy in-store QR ---------------------------------------------------------------------

    def create_dynamic_qr(
        self,
        access_token: str,
        *,
        user_id: int,
        external_pos_id: str,
        order: InstoreOrderRequest,
        idempotency_key: str | None = None,
    ) -> QRCode:
        """``POST …/qrs``: a one-time order; its ``qr_data`` is shown on a screen or ticket."""
        path = f"/instore/orders/qr/seller/collectors/{_segment(user_id)}/pos/"
        path += f"{_segment(external_pos_id)}/qrs"
        call = Call("POST", path, access_token, order.to_json(), idempotency_key=idempotency_key)
        return self._object(call, QRCode.from_json)

    def create_hybrid_qr(
        self, access_token: str, *, user_id: int, external_pos_id: str, order: InstoreOrderRequest
    ) -> QRCode:
        """``PUT …/qrs``: the order goes to the POS's printed QR and gets a dynamic ``qr_data``.

        Answers with or without a body are both accepted (api.md §11 #2).
        """
        path = f"/instore/orders/qr/seller/collectors/{_segment(user_id)}/pos/"
        path += f"{_segment(external_pos_id)}/qrs"
        call = Call("PUT", path, access_token, order.to_json())
        answer = self._session.send(call)
        return self._parse(call, answer.status, answer.body or {}, QRCode.from_json)

    def put_pos_order(
        self,
        access_token: str,
        *,
        user_id: int,
        external_store_id: str,
        external_pos_id: str,
        order: InstoreOrderRequest,
    ) -> None:
        """``PUT …/stores/{external_store_id}/pos/{external_pos_id}/orders``: attended (static)
        QR; creates or replaces the order the POS's printed QR shows."""
        path = (
            f"/instore/qr/seller/collectors/{_segment(user_id)}/stores/"
            f"{_segment(external_store_id)}/pos/{_segment(external_pos_id)}/orders"
        )
        self._session.send(Call("PUT", path, access_token, order.to_json()))

    def get_pos_orders(
        self, access_token: str, *, user_id: int, external_pos_id: str
    ) -> tuple[InstoreOrder, ...]:
        """``GET …/pos/{external_pos_id}/orders``: the order currently on that POS."""
        path = self._pos_orders_path(user_id, external_pos_id)
        call = Call("GET", path, access_token)
        answer = self._session.send(call)
        items = answer.body if isinstance(answer.body, list) else [answer.body]
        return tuple(
            self._parse(call, answer.status, item, InstoreOrder.from_json) for item in items
        )

    def delete_pos_order(self, access_token: str, *, user_id: int, external_pos_id: str) -> None:
        """``DELETE …/pos/{external_pos_id}/orders``: take the current order off the POS."""
        path = self._pos_orders_path(user_id, external_pos_id)
        self._session.send(Call("DELETE", path, access_token))

    @staticmethod
    def _pos_orders_path(user_id: int, external_pos_id: str) -> str:
        return (
            f"/instore/qr/seller/collectors/{_segment(user_id)}/pos/"
            f"{_segment(external_pos_id)}/orders"
        )

    # Orders API -----------------------------------------------------------------------------

    def create_order(self, access_token: str, order: OrderCreate, *, idempotency_key: str) -> Order:
        """``POST /v1/orders``."""
        call = Call(
            "POST", "/v1/orders", access_token, order.to_json(), idempotency_key=idempotency_key
        )
        return self._object(call, Order.from_json)

    def get_order(self, access_token: str, order_id: str) -> Order:
        """``GET /v1/orders/{order_id}``."""
        return self._object(
            Call("GET", f"/v1/orders/{_segment(order_id)}", access_token), Order.from_json
        )

    def cancel_order(self, access_token: str, order_id: str, *, idempotency_key: str) -> Order:
        """``POST /v1/orders/{order_id}/cancel``: only while the order is ``created``."""
        path = f"/v1/orders/{_segment(order_id)}/cancel"
        call = Call("POST", path, access_token, idempotency_key=idempotency_key)
        return self._object(call, Order.from_json)

    def refund_order(self, access_token: str, order_id: str, *, idempotency_key: str) -> Order:
        """``POST /v1/orders/{order_id}/refund`` without a body: refund everything."""
        path = f"/v1/orders/{_segment(order_id)}/refund"
        call = Call("POST", path, access_token, idempotency_key=idempotency_key)
        return self._object(call, Order.from_json)

    def refund_order_partially(
        self,
        access_token: str,
        order_id: str,
        transactions: Sequence[RefundTransaction],
        *,
        currency: str,
        idempotency_key: str,
    ) -> Order:
        """``POST /v1/orders/{order_id}/refund`` with ``transactions``: refund part of payments."""
        if not transactions:
            raise ValueError("a partial refund needs at least one transaction")
        body = {
            "transactions": [
                {"id": line.id, "amount": order_amount(line.amount, currency)}
                for line in transactions
            ]
        }
        path = f"/v1/orders/{_segment(order_id)}/refund"
        call = Call("POST", path, access_token, body, idempotency_key=idempotency_key)
        return self._object(call, Order.from_json)

    def search_orders(
        self,
        access_token: str,
        *,
        begin_date: datetime,
        end_date: datetime,
        external_reference: str | None = None,
        status: str | None = None,
        page: int | None = None,
        page_size: int | None = None,
    ) -> Page[Order]:
        """``GET /v1/orders``: orders created between two aware datetimes."""
        query = search_query(
            begin_date=begin_date,
            end_date=end_date,
            external_reference=external_reference,
            status=status,
            page=page,
            page_size=page_size,
        )
        call = Call("GET", "/v1/orders", access_token, query=query)
        return self._page(call, Order.from_json, results_key="data", paging_key="paging")

    # Stores ---------------------------------------------------------------------------------

    def create_store(self, access_token: str, user_id: int, store: StoreRequest) -> Store:
        """``POST /users/{user_id}/stores`` (never retried: Mercado Pago does not dedupe it)."""
        call = Call("POST", f"/users/{_segment(user_id)}/stores", access_token, store.to_json())
        return self._object(call, Store.from_json)

    def search_stores(
        self,
        access_token: str,
        user_id: int,
        *,
        external_id: str | None = None,
        limit: int | None = None,
        offset: int | None = None,
    ) -> Page[Store]:
        """``GET /users/{user_id}/stores/search``."""
        query = _query(external_id=external_id, limit=limit, offset=offset)
        call = Call("GET", f"/users/{_segment(user_id)}/stores/search", access_token, query=query)
        return self._page(call, Store.from_json, results_key="results", paging_key="paging")

    def get_store(self, access_token: str, store_id: int) -> Store:
        """``GET /stores/{store_id}``."""
        return self._object(
            Call("GET", f"/stores/{_segment(store_id)}", access_token), Store.from_json
        )

    def update_store(
        self, access_token: str, user_id: int, store_id: int, store: StoreRequest
    ) -> Store:
        """``PUT /users/{user_id}/stores/{store_id}``."""
        path = f"/users/{_segment(user_id)}/stores/{_segment(store_id)}"
        return self._object(Call("PUT", path, access_token, store.to_json()), Store.from_json)

    def delete_store(self, access_token: str, user_id: int, store_id: int) -> None:
        """``DELETE /users/{user_id}/stores/{store_id}``."""
        path = f"/users/{_segment(user_id)}/stores/{_segment(store_id)}"
        self._session.send(Call("DELETE", path, access_token))

    # Points of sale -------------------------------------------------------------------------

    def create_pos(self, access_token: str, pos: PosCreate) -> Pos:
        """``POST /pos`` (never retried: Mercado Pago does not dedupe it)."""
        return self._object(Call("POST", "/pos", access_token, pos.to_json()), Pos.from_json)

    def search_pos(
        self,
        access_token: str,
        *,
        external_id: str | None = None,
        external_store_id: str | None = None,
        store_id: int | None = None,
        category: int | None = None,
        limit: int | None = None,
        offset: int | None = None,
    ) -> Page[Pos]:
        """``GET /pos`` filtered by the given fields."""
        query = _query(
            external_id=external_id,
            external_store_id=external_store_id,
            store_id=store_id,
            category=category,
            limit=limit,
            offset=offset,
        )
        call = Call("GET", "/pos", access_token, query=query)
        return self._page(call, Pos.from_json, results_key="results", paging_key="paging")

    def get_pos(self, access_token: str, pos_id: int) -> Pos:
        """``GET /pos/{pos_id}``; the answer includes the static QR's ``qr_code``."""
        return self._object(Call("GET", f"/pos/{_segment(pos_id)}", access_token), Pos.from_json)

    def update_pos(self, access_token: str, pos_id: int, update: PosUpdate) -> Pos:
        """``PUT /pos/{pos_id}``."""
        call = Call("PUT", f"/pos/{_segment(pos_id)}", access_token, update.to_json())
        return self._object(call, Pos.from_json)

    def delete_pos(self, access_token: str, pos_id: int) -> None:
        """``DELETE /pos/{pos_id}``."""
        self._session.send(Call("DELETE", f"/pos/{_segment(pos_id)}", access_token))

    # OAuth ----------------------------------------------------------------------------------

    def authorization_url(
        self, *, client_id: str, redirect_uri: str, state: str, code_challenge: str | None = None
    ) -> str:
        """The consent page URL on the configured ``auth_url`` (see :mod:`mpapi.oauth`)."""
        return authorization_url(
            self.config.auth_url,
            client_id=client_id,
            redirect_uri=redirect_uri,
            state=state,
            code_challenge=code_challenge,
        )

    def exchange_code(
        self,
        *,
        client_id: str,
        client_secret: str,
        code: str,
        redirect_uri: str,
        code_verifier: str | None = None,
    ) -> OAuthToken:
        """``POST /oauth/token`` with ``grant_type=authorization_code`` (and PKCE's verifier)."""
        body = {
            "grant_type": "authorization_code",
            "client_id": client_id,
            "client_secret": client_secret,
            "code": code,
            "redirect_uri": redirect_uri,
        }
        if code_verifier is not None:
            body["code_verifier"] = code_verifier
        secrets = (client_secret, code, code_verifier or "")
        return self._object(
            Call("POST", "/oauth/token", body=body, secrets=secrets), OAuthToken.from_json
        )

    def refresh_access_token(
        self, *, client_id: str, client_secret: str, refresh_token: str
    ) -> OAuthToken:
        """``POST /oauth/token`` with ``grant_type=refresh_token``.

        The answer carries a new refresh token too; the old one no longer works.
        """
        body = {
            "grant_type": "refresh_token",
            "client_id": client_id,
            "client_secret": client_secret,
            "refresh_token": refresh_token,
        }
        secrets = (client_secret, refresh_token)
        return self._object(
            Call("POST", "/oauth/token", body=body, secrets=secrets), OAuthToken.from_json
        )

    # Users ----------------------------------------------------------------------------------

    def get_me(self, access_token: str) -> User:
        """``GET /users/me``: the account ``access_token`` acts for (id, site, country)."""
        return self._object(Call("GET", "/users/me", access_token), User.from_json)

    # Merchant orders ------------------------------------------------------------------------

    def get_merchant_order(self, access_token: str, merchant_order_id: int) -> MerchantOrder:
        """``GET /merchant_orders/{merchant_order_id}``."""
        call = Call("GET", f"/merchant_orders/{_segment(merchant_order_id)}", access_token)
        return self._object(call, MerchantOrder.from_json)

    def search_merchant_orders(
        self,
        access_token: str,
        *,
        external_reference: str,
        limit: int | None = None,
        offset: int | None = None,
    ) -> Page[MerchantOrder]:
        """``GET /merchant_orders/search?external_reference=…``."""
        query = _query(external_reference=external_reference, limit=limit, offset=offset)
        call = Call("GET", "/merchant_orders/search", access_token, query=query)
        return self._page(call, MerchantOrder.from_json, results_key="elements", paging_key=None)

    # Payments -------------------------------------------------------------------------------

    def get_payment(self, access_token: str, payment_id: int) -> Payment:
        """``GET /v1/payments/{payment_id}``."""
        call = Call("GET", f"/v1/payments/{_segment(payment_id)}", access_token)
        return self._object(call, Payment.from_json)

    def refund_payment(
        self, access_token: str, payment_id: int, *, idempotency_key: str
    ) -> PaymentRefund:
        """``POST /v1/payments/{payment_id}/refunds`` with ``{}``: refund everything."""
        path = f"/v1/payments/{_segment(payment_id)}/refunds"
        call = Call("POST", path, access_token, {}, idempotency_key=idempotency_key)
        return self._object(call, PaymentRefund.from_json)

    def refund_payment_partially(
        self,
        access_token: str,
        payment_id: int,
        amount: Decimal,
        *,
        currency: str,
        idempotency_key: str,
    ) -> PaymentRefund:
        """``POST /v1/payments/{payment_id}/refunds`` with ``{"amount": …}`` (a JSON number)."""
        path = f"/v1/payments/{_segment(payment_id)}/refunds"
        body = {"amount": legacy_amount(amount, currency)}
        call = Call("POST", path, access_token, body, idempotency_key=idempotency_key)
        return self._object(call, PaymentRefund.from_json)

    def list_payment_refunds(self, access_token: str, payment_id: int) -> tuple[PaymentRefund, ...]:
        """``GET /v1/payments/{payment_id}/refunds``: every refund of the payment (a JSON list),
        oldest first."""
        call = Call("GET", f"/v1/payments/{_segment(payment_id)}/refunds", access_token)
        answer = self._session.send(call)
        items = answer.body if isinstance(answer.body, list) else [answer.body]
        return tuple(
            self._parse(call, answer.status, item, PaymentRefund.from_json) for item in items
        )

    def get_payment_refund(
        self, access_token: str, payment_id: int, refund_id: int
    ) -> PaymentRefund:
        """``GET /v1/payments/{payment_id}/refunds/{refund_id}`` (404 ``NotFound``, code
        ``2032``, for a refund the payment does not have)."""
        path = f"/v1/payments/{_segment(payment_id)}/refunds/{_segment(refund_id)}"
        return self._object(Call("GET", path, access_token), PaymentRefund.from_json)

    # The embedded sandbox only (tests, the partner API's sandbox) ------------------------------

    def sandbox_pay(
        self, *, qr_data: str, external_reference: str = "", outcome: str = "approved"
    ) -> SandboxChange:
        """``POST /wallet/pay``: a test buyer pays what ``qr_data`` shows (an order's QR, or a
        POS's printed QR and the order it shows); with ``external_reference``, only if it is
        that order (409 otherwise). ``outcome`` ``rejected``: the payment is declined and the
        order stays payable."""
        body = {"qr_data": qr_data, "external_reference": external_reference, "outcome": outcome}
        return self._object(Call("POST", "/wallet/pay", None, body), SandboxChange.from_json)

    def sandbox_expire(self, *, qr_data: str, external_reference: str = "") -> SandboxChange:
        """``POST /_control/orders/expire``: the order ``qr_data`` shows expires now, as if its
        time had run out; with ``external_reference``, only if it is that order."""
        body = {"qr_data": qr_data, "external_reference": external_reference}
        call = Call("POST", "/_control/orders/expire", None, body)
        return self._object(call, SandboxChange.from_json)

    # Plumbing -------------------------------------------------------------------------------

    def _object(self, call: Call, parse: Callable[[JSON], T]) -> T:
        answer = self._session.send(call)
        return self._parse(call, answer.status, answer.body, parse)

    def _page(
        self,
        call: Call,
        parse: Callable[[JSON], T],
        *,
        results_key: str,
        paging_key: str | None,
    ) -> Page[T]:
        read = partial(page, parse=parse, results_key=results_key, paging_key=paging_key)
        return self._object(call, read)

    @staticmethod
    def _parse(call: Call, status: int, body: object, parse: Callable[[JSON], T]) -> T:
        """``parse(body)``, or ``UnexpectedResponse`` when the body lacks the documented shape."""
        try:
            if not isinstance(body, Mapping):
                raise TypeError(f"expected a JSON object, got {type(body).__name__}")
            return parse(body)
        except (KeyError, TypeError, ValueError, ArithmeticError) as error:
            raise UnexpectedResponse(
                method=call.method, path=call.path, status=status, body=body
            ) from error
