"""What the embedded sandbox's test-only endpoints answer (``MercadoPagoClient.sandbox_pay`` and
``sandbox_expire``): never endpoints of Mercado Pago, only of the sandbox that emulates it."""

from dataclasses import dataclass

from mpapi.parsing import JSON, text


@dataclass(frozen=True)
class SandboxChange:
    """What the sandbox did: ``status`` is the payment's (``approved``, ``rejected``) or the
    order's (``expired``) afterwards."""

    status: str

    @classmethod
    def from_json(cls, data: JSON) -> "SandboxChange":
        return cls(status=text(data["status"]) or "")
