"""The dated versions of the partner API (docs/api.md, "Versioning").

A partner app is pinned to the version current when the seller first connected it
(``PartnerGrant.api_version``); a request may ask for another with the ``Api-Version`` header.
Every answer names the version it was written in, and every event the version of its ``data``.
A breaking change ships as a new dated version; additive changes do not.
"""

HEADER = "Api-Version"
VERSIONS = ("2026-12-06",)
CURRENT = VERSIONS[-1]
