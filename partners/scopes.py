"""The OAuth2 scopes a partner app may ask for, and what each one lets it do."""

SCOPES: dict[str, str] = {
    "orders:read": "See orders, their payments, refunds and QR codes",
    "orders:write": "Create, cancel and refund orders",
    "stores:read": "See stores",
    "stores:write": "Create, change and delete stores",
    "pos:read": "See points of sale and their fixed QR codes",
    "pos:write": "Create, change and delete points of sale",
    "webhooks:write": "Register webhook endpoints and see their deliveries",
}


def parse(scope: str) -> frozenset[str]:
    """A space-separated scope string as a set."""
    return frozenset(scope.split())


def join(scopes: frozenset[str] | set[str]) -> str:
    """A set of scopes as a space-separated string, in the order of ``SCOPES``."""
    return " ".join(name for name in SCOPES if name in scopes)


# The scope that shows the data of each kind of event (None: any token). A kind not named here
# is shown to no token.
EVENT_SCOPES: dict[str, str | None] = {
    "order": "orders:read",
    "refund": "orders:read",
    "dispute": "orders:read",
    "store": "stores:read",
    "pos": "pos:read",
    "seller": None,
}


def event_kind(event_type: str) -> str:
    """``order`` of ``order.processed``."""
    return event_type.partition(".")[0]


def may_read_event(event_type: str, scopes: frozenset[str] | set[str]) -> bool:
    """Whether a token with ``scopes`` may read (list, receive) events of ``event_type``."""
    kind = event_kind(event_type)
    return kind in EVENT_SCOPES and EVENT_SCOPES[kind] in (None, *scopes)
