"""An order's ``metadata``: the partner's own keys and values, all strings, returned with the
order and searchable (``GET /api/v1/orders?metadata[key]=value``), as Stripe's metadata.

At most ``MAX_KEYS`` keys of 1 to ``MAX_KEY_LENGTH`` characters of ``[A-Za-z0-9_.-]``, each with a
string of at most ``MAX_VALUE_LENGTH`` characters. An empty value means no value: it is not kept
on a create, and it removes its key on an update.

The search compares a key transform with the value (``metadata ->> 'key' = 'value'`` on
PostgreSQL, ``->>`` or ``JSON_EXTRACT`` on SQLite) within the seller's orders: no GIN index,
which only the containment operator (``@>``, unavailable on SQLite) would use.
"""

import re
from collections.abc import Mapping

from django.db.models import Q
from django.db.models.fields.json import KeyTextTransform
from django.db.models.lookups import Exact

from orders.errors import InvalidOrder, Problem

MAX_KEYS = 20
MAX_KEY_LENGTH = 40
MAX_VALUE_LENGTH = 500
KEY = re.compile(rf"[A-Za-z0-9_.-]{{1,{MAX_KEY_LENGTH}}}")
QUERY_PARAMETER = re.compile(r"metadata\[(.*)\]")
TOO_MANY_KEYS = f"At most {MAX_KEYS} keys."
BAD_KEY = f"A key has 1 to {MAX_KEY_LENGTH} characters of A-Z, a-z, 0-9, '_', '.' and '-'."


def merged(current: Mapping[str, str], changes: Mapping[str, str]) -> dict[str, str]:
    """``current`` with ``changes`` set (an empty value removes its key); ``InvalidOrder``
    (``too_many_keys`` on ``metadata``) when more than ``MAX_KEYS`` would be kept."""
    result = {key: value for key, value in {**current, **changes}.items() if value != ""}
    if len(result) > MAX_KEYS:
        raise InvalidOrder([Problem("metadata", "too_many_keys", TOO_MANY_KEYS)])
    return result


def search(query: Mapping[str, str]) -> Q:
    """The orders whose metadata hold every ``metadata[key]=value`` of ``query`` (query
    parameters; the others are ignored); ``InvalidOrder`` (``invalid_key``) names each
    parameter whose key could never be set."""
    condition, problems = Q(), []
    for name, value in query.items():
        match = QUERY_PARAMETER.fullmatch(name)
        if match is None:
            continue
        if not KEY.fullmatch(match[1]):
            problems.append(Problem(name, "invalid_key", BAD_KEY))
            continue
        condition &= Q(Exact(KeyTextTransform(match[1], "metadata"), value))
    if problems:
        raise InvalidOrder(problems)
    return condition
