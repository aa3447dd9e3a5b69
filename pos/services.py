"""Stores and points of sale: every write, and every Mercado Pago call about them.

A write is validated with Mercado Pago's own rules, saved, and then pushed to Mercado Pago outside
any transaction, so no lock is held while Mercado Pago answers. When Mercado Pago refuses it (a
4xx), the save is undone and the refusal comes back as a ``ValidationError`` keyed by field.
When Mercado Pago cannot answer (5xx, 429, no answer), the row is kept as ``failed`` with the error
and a Celery task pushes it again with backoff. A row whose ``external_id`` already exists in
Mercado Pago (409) is adopted: its Mercado Pago id is taken and the remote object is updated to
match the local one.
"""

from datetime import time

from django.core.exceptions import ValidationError
from django.db import transaction
from django.dispatch import Signal
from django.utils import timezone

from merchant_platform.mercadopago import get_client
from mpapi import (
    APIError,
    Conflict,
    MercadoPagoClient,
    NotFound,
    RateLimited,
    ServerError,
    TransportFailure,
)
from mpapi.stores import Location, OpeningHours, PosCreate, PosUpdate, StoreRequest
from pos.models import PointOfSale, Store, SyncState, new_display_token
from tenants.models import Tenant
from tenants.scope import tenant_scope
from tenants.services import NotConnected, seller_access_token

RETRYABLE = (ServerError, RateLimited, TransportFailure)

# Sent with ``row`` (a Store or PointOfSale) when its sync becomes failed, not again while it stays
# failed, inside the transaction that saves it: a receiver's error rolls the change back.
# (partners.receivers turns it into the store.sync_failed and pos.sync_failed events.)
sync_failed = Signal()

STORE_FIELDS = (
    "name",
    "external_id",
    "street_name",
    "street_number",
    "city",
    "state",
    "latitude",
    "longitude",
    "reference",
    "business_hours",
)
POS_FIELDS = ("store", "name", "external_id", "fixed_amount", "category")

# Mercado Pago's error codes (api.md §4.2, §4.3) and the field each one is about.
STORE_ERROR_FIELDS = {
    "INVALID_NAME": "name",
    "INVALID_EXTERNAL_ID": "external_id",
    "INVALID_BUSINESS_HOURS": "business_hours",
    "INVALID_DAY": "business_hours",
    "INVALID_STREET_NAME": "street_name",
    "INVALID_STREET_NUMBER": "street_number",
    "INVALID_CITY_NAME": "city",
    "INVALID_STATE_NAME": "state",
    "INVALID_LATITUDE": "latitude",
    "INVALID_LONGITUDE": "longitude",
    "BAD_REQUEST": "latitude",  # coordinates outside the seller's country
    "INVALID_REFERENCE": "reference",
}
POS_ERROR_FIELDS = {
    "INVALID_NAME": "name",
    "NAME_TOO_LONG": "name",
    "INVALID_EXTERNAL_ID": "external_id",
    "EXTERNAL_ID_TOO_LONG": "external_id",
    "INVALID_FIXED_AMOUNT": "fixed_amount",
    "INVALID_CATEGORY": "category",
    "UNKNOWN_MCC": "category",
    "POS_UNKNOWN_MCC": "category",
    "INVALID_STORE_ID": "store",
    "INVALID_EXTERNAL_STORE_ID": "store",
    "EXTERNAL_STORE_ID_NOT_MATCH": "store",
    "INEXISTENT_EXTERNAL_STORE_ID": "store",
}


# Stores --------------------------------------------------------------------------------------


def create_store(*, tenant: Tenant, **fields: object) -> Store:
    """Create a store (``STORE_FIELDS``) locally and in Mercado Pago."""
    return save_store(tenant=tenant, store=Store(tenant=tenant, **_only(fields, STORE_FIELDS)))


def update_store(*, tenant: Tenant, store: Store, **fields: object) -> Store:
    """Change the given ``STORE_FIELDS`` of ``store``, locally and in Mercado Pago."""
    for name, value in _only(fields, STORE_FIELDS).items():
        setattr(store, name, value)
    return save_store(tenant=tenant, store=store)


def save_store(*, tenant: Tenant, store: Store) -> Store:
    """Validate ``store`` (new or changed), save it and push it to Mercado Pago."""
    return _save_and_push(tenant=tenant, row=store)


def delete_store(*, tenant: Tenant, store: Store) -> None:
    """Delete a store that has no points of sale left, in Mercado Pago and locally."""
    with tenant_scope(tenant):
        if PointOfSale.objects.filter(store=store).exists():
            raise ValidationError("Delete the store's points of sale first.")
        if store.mp_store_id is not None:
            _remote_delete(tenant, "store", store.mp_store_id)
        store.delete()


def sync_store(*, tenant: Tenant, store: Store) -> Store:
    """Push ``store`` to Mercado Pago again (the retry task and ``resync`` use it)."""
    return _sync(tenant=tenant, row=store)


# Points of sale ------------------------------------------------------------------------------


def create_pos(*, tenant: Tenant, **fields: object) -> PointOfSale:
    """Create a point of sale (``POS_FIELDS``) locally and in Mercado Pago, with its fixed QR."""
    pos = PointOfSale(tenant=tenant, **_only(fields, POS_FIELDS))
    return save_pos(tenant=tenant, pos=pos)


def update_pos(*, tenant: Tenant, pos: PointOfSale, **fields: object) -> PointOfSale:
    """Change the given ``POS_FIELDS`` of ``pos`` (not its ``external_id`` once synced)."""
    for name, value in _only(fields, POS_FIELDS).items():
        setattr(pos, name, value)
    return save_pos(tenant=tenant, pos=pos)


def save_pos(*, tenant: Tenant, pos: PointOfSale) -> PointOfSale:
    """Validate ``pos`` (new or changed), save it and push it to Mercado Pago."""
    if pos.pk is not None and pos.mp_pos_id is not None:
        with tenant_scope(tenant):
            saved_external_id = PointOfSale.objects.filter(pk=pos.pk).values_list(
                "external_id", flat=True
            )[0]
        if saved_external_id != pos.external_id:
            raise ValidationError(
                {"external_id": "The external id of a synced point of sale cannot change."}
            )
    return _save_and_push(tenant=tenant, row=pos)


def delete_pos(*, tenant: Tenant, pos: PointOfSale) -> None:
    """Delete a point of sale that has taken no orders, in Mercado Pago and locally.

    A POS with orders stays: its orders keep pointing at it (their history names the POS).
    """
    with tenant_scope(tenant):
        if pos.orders.exists():
            raise ValidationError("This point of sale has orders; it cannot be deleted.")
        if pos.mp_pos_id is not None:
            _remote_delete(tenant, "pos", pos.mp_pos_id)
        pos.delete()


def rotate_display_token(*, tenant: Tenant, pos: PointOfSale) -> PointOfSale:
    """Give ``pos`` a new display token: the old display page URL stops working (404)."""
    with tenant_scope(tenant):
        pos.display_token = new_display_token()
        pos.save(update_fields=["display_token", "updated_at"])
    return pos


def sync_pos(*, tenant: Tenant, pos: PointOfSale) -> PointOfSale:
    """Push ``pos`` to Mercado Pago again (the retry task and ``resync`` use it)."""
    return _sync(tenant=tenant, row=pos)


# Both ----------------------------------------------------------------------------------------


def resync(*, tenant: Tenant, row: Store | PointOfSale) -> Store | PointOfSale:
    """Push a store or POS to Mercado Pago now; if Mercado Pago fails, a task retries it."""
    try:
        return _sync(tenant=tenant, row=row)
    except RETRYABLE:
        _enqueue_retry(tenant, row)
        return row


def _sync(*, tenant: Tenant, row: Store | PointOfSale) -> Store | PointOfSale:
    """Push ``row`` and record the outcome. A refusal (4xx) is final and kept as the error;
    Mercado Pago failures are kept too and re-raised, for the caller's retry."""
    with tenant_scope(tenant):
        try:
            _push(tenant, row)
        except NotConnected as error:
            _mark_failed(row, "not_connected", str(error))
        except APIError as error:
            _mark_failed(row, _code(error), error.message)
            if isinstance(error, RETRYABLE):
                raise
        except TransportFailure as error:
            _mark_failed(row, "transport_failure", str(error))
            raise
    return row


def _save_and_push(*, tenant: Tenant, row: Store | PointOfSale) -> Store | PointOfSale:
    """Save ``row``, then push it outside any transaction: no lock is held while Mercado Pago is
    called. A refusal puts the row back as it was (a new row is deleted)."""
    row.tenant = tenant
    with tenant_scope(tenant):
        row.full_clean()
        saved = type(row).objects.filter(pk=row.pk).first() if row.pk else None
        row.sync_state = SyncState.PENDING
        row.save()
        try:
            _push(tenant, row)
        except NotConnected as error:
            _put_back(row, saved)
            raise ValidationError(str(error)) from error
        except TransportFailure as error:
            _mark_failed(row, "transport_failure", str(error))
            _enqueue_retry(tenant, row)
        except APIError as error:
            if not isinstance(error, RETRYABLE):
                _put_back(row, saved)
                raise _refusal(error, row) from error
            _mark_failed(row, _code(error), error.message)
            _enqueue_retry(tenant, row)
    return row


def _put_back(row: Store | PointOfSale, saved: Store | PointOfSale | None) -> None:
    """Undo the save of a change Mercado Pago refused: restore ``saved``, or delete a new row."""
    if saved is None:
        row.delete()
    else:
        saved.save()


def _push(tenant: Tenant, row: Store | PointOfSale) -> None:
    token = seller_access_token(tenant)
    with get_client() as mp:
        if isinstance(row, Store):
            _push_store(mp, token, _mp_user_id(tenant), row)
        else:
            _push_pos(mp, token, _mp_user_id(tenant), row)


def _push_store(mp: MercadoPagoClient, token: str, user_id: int, store: Store) -> None:
    request = _store_request(store)
    if store.mp_store_id is None:
        try:
            store.mp_store_id = mp.create_store(token, user_id, request).id
            _mark_synced(store)
            return
        except Conflict:
            found = mp.search_stores(token, user_id, external_id=store.external_id).results
            if not found:
                raise
            store.mp_store_id = found[0].id  # adopt it, then make it match
    mp.update_store(token, user_id, store.mp_store_id, request)
    _mark_synced(store)


def _push_pos(mp: MercadoPagoClient, token: str, user_id: int, pos: PointOfSale) -> None:
    store = pos.store
    if store.mp_store_id is None:
        _push_store(mp, token, user_id, store)
    if pos.mp_pos_id is None:
        try:
            pos.mp_pos_id = mp.create_pos(token, _pos_create(pos)).id
        except Conflict:
            found = mp.search_pos(token, external_id=pos.external_id).results
            if not found:
                raise
            pos.mp_pos_id = found[0].id  # adopt it, then make it match
            mp.update_pos(token, pos.mp_pos_id, _pos_update(pos))
    else:
        mp.update_pos(token, pos.mp_pos_id, _pos_update(pos))
    remote = mp.get_pos(token, pos.mp_pos_id)  # only GET carries qr_code
    pos.qr_code = remote.qr_code or ""
    pos.qr_image_url = remote.qr_image or ""
    pos.qr_template_document_url = remote.qr_template_document or ""
    pos.qr_template_image_url = remote.qr_template_image or ""
    _mark_synced(pos)


def _store_request(store: Store) -> StoreRequest:
    return StoreRequest(
        name=store.name,
        external_id=store.external_id,
        location=Location(
            street_name=store.street_name,
            street_number=store.street_number,
            city_name=store.city,
            state_name=store.state,
            latitude=store.latitude,
            longitude=store.longitude,
            reference=store.reference or None,
        ),
        business_hours={
            day: tuple(
                OpeningHours(time.fromisoformat(r["open"]), time.fromisoformat(r["close"]))
                for r in ranges
            )
            for day, ranges in store.business_hours.items()
        },
    )


def _pos_create(pos: PointOfSale) -> PosCreate:
    return PosCreate(
        name=pos.name,
        external_id=pos.external_id,
        store_id=pos.store.mp_store_id,
        external_store_id=pos.store.external_id,
        fixed_amount=pos.fixed_amount,
        category=pos.category,
    )


def _pos_update(pos: PointOfSale) -> PosUpdate:
    return PosUpdate(
        name=pos.name,
        store_id=pos.store.mp_store_id,
        external_store_id=pos.store.external_id,
        fixed_amount=pos.fixed_amount,
        category=pos.category,
    )


def delete_remote(*, tenant: Tenant, kind: str, mp_id: int) -> None:
    """Delete the Mercado Pago store or POS (``kind``) ``mp_id``; one already gone is deleted.

    Raises the retryable errors (the retry task's backoff handles them) and refusals.
    """
    with get_client() as mp:
        token = seller_access_token(tenant)
        try:
            if kind == "store":
                mp.delete_store(token, _mp_user_id(tenant), mp_id)
            else:
                mp.delete_pos(token, mp_id)
        except NotFound:
            pass


def _remote_delete(tenant: Tenant, kind: str, mp_id: int) -> None:
    """Delete in Mercado Pago before the local row goes; when Mercado Pago is not answering, the
    local row goes anyway and the remote delete is retried through Celery (nothing is left)."""
    try:
        delete_remote(tenant=tenant, kind=kind, mp_id=mp_id)
    except NotConnected as error:
        raise ValidationError(str(error)) from error
    except RETRYABLE:
        from pos import tasks  # tasks call services

        transaction.on_commit(
            lambda: tasks.delete_remote.delay(tenant_id=tenant.pk, kind=kind, mp_id=mp_id),
            robust=True,
        )
    except APIError as error:
        raise ValidationError(f"Mercado Pago refused: {error.message} ({_code(error)})") from error


def _mark_synced(row: Store | PointOfSale) -> None:
    row.sync_state = SyncState.SYNCED
    row.sync_error_code = row.sync_error_message = ""
    row.last_synced_at = timezone.now()
    row.save()


def _mark_failed(row: Store | PointOfSale, code: str, message: str) -> None:
    became_failed = row.sync_state != SyncState.FAILED
    row.sync_state = SyncState.FAILED
    row.sync_error_code, row.sync_error_message = code[:100], message
    row.last_synced_at = timezone.now()
    with transaction.atomic():
        row.save()
        if became_failed:
            sync_failed.send(type(row), row=row)


def _enqueue_retry(tenant: Tenant, row: Store | PointOfSale) -> None:
    from pos import tasks  # tasks call services

    task = tasks.sync_store if isinstance(row, Store) else tasks.sync_pos
    # robust: with eager Celery (the embedded default) the retries run right here; their final
    # failure is logged and the row stays failed, instead of breaking the committed request.
    transaction.on_commit(lambda: task.delay(tenant_id=tenant.pk, row_id=row.pk), robust=True)


def _refusal(error: APIError, row: Store | PointOfSale) -> ValidationError:
    fields = STORE_ERROR_FIELDS if isinstance(row, Store) else POS_ERROR_FIELDS
    field = next((fields[code] for code in error.codes if code in fields), None)
    message = f"Mercado Pago refused it: {error.message or 'invalid value'} ({_code(error)})."
    return ValidationError({field: message} if field else message)


def _code(error: APIError) -> str:
    return error.code or str(error.status)


def _mp_user_id(tenant: Tenant) -> int:
    if tenant.mp_user_id is None:
        tenant.refresh_from_db(fields=["mp_user_id"])
    if tenant.mp_user_id is None:
        raise NotConnected(f"{tenant} has not connected a Mercado Pago account yet.")
    return tenant.mp_user_id


def _only(fields: dict, allowed: tuple[str, ...]) -> dict:
    unknown = set(fields) - set(allowed)
    if unknown:
        raise TypeError(f"unknown fields: {', '.join(sorted(unknown))}")
    return fields
