"""The partner API's schema class (``DEFAULT_SCHEMA_CLASS``): drf-spectacular's, told what
``partners.idempotency`` and ``partners.input`` do. Its own module: drf-spectacular imports it
while partners/schema.py is still loading.
"""

from inspect import isclass

from drf_spectacular.openapi import AutoSchema
from drf_spectacular.plumbing import get_doc
from drf_spectacular.utils import OpenApiParameter

from partners.idempotency import HEADER as IDEMPOTENCY_HEADER
from partners.idempotency import MAX_KEY_LENGTH
from partners.input import RefuseUnknownFields

IDEMPOTENCY_KEY = OpenApiParameter(
    IDEMPOTENCY_HEADER,
    str,
    OpenApiParameter.HEADER,
    description=f"Up to {MAX_KEY_LENGTH} printable characters, e.g. a UUID. A retry with the same "
    "key and body gets the first answer (header `Idempotent-Replayed: true`) and does nothing "
    "twice; the same key with another body is 409 `idempotency_key_reused`. An answer that did "
    "nothing (400, 404, 409) is not kept: the key may be used again.",
)


class PartnerAutoSchema(AutoSchema):
    """Lists the ``Idempotency-Key`` header on each operation whose handler honours it
    (``@idempotent``), and closes the request bodies that refuse unknown fields
    (``additionalProperties: false``)."""

    def get_override_parameters(self) -> list:
        parameters = super().get_override_parameters()
        handler = getattr(self.view, getattr(self.view, "action", None) or "", None) or getattr(
            self.view, self.method.lower(), None
        )
        if getattr(handler, "idempotent", False):
            parameters = [*parameters, IDEMPOTENCY_KEY]
        return parameters

    def _map_basic_serializer(self, serializer, direction: str) -> dict:
        schema = super()._map_basic_serializer(serializer, direction)
        if issubclass(serializer if isclass(serializer) else type(serializer), RefuseUnknownFields):
            if direction == "request":
                schema["additionalProperties"] = False
            if schema.get("description") == get_doc(RefuseUnknownFields):
                del schema["description"]  # the mixin's, not the serializer's
        return schema
