"""Users: ``GET /users/me``, the Mercado Pago account an access token acts for."""

from dataclasses import dataclass, field

from mpapi.parsing import JSON, text


@dataclass(frozen=True)
class User:
    """The account behind a token: its id and the site (country) that fixes its currency."""

    id: int
    nickname: str | None
    site_id: str  # MLA, MLB, MLM, MLC, MCO, MPE, MLU
    country_id: str | None  # ISO 3166 alpha-2: AR, BR, ...
    email: str | None = field(repr=False)
    raw: JSON = field(repr=False)

    @classmethod
    def from_json(cls, data: JSON) -> "User":
        return cls(
            id=int(data["id"]),
            nickname=text(data.get("nickname")),
            site_id=str(data["site_id"]),
            country_id=text(data.get("country_id")),
            email=text(data.get("email")),
            raw=data,
        )
