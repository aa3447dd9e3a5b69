"""Public development defaults, shared by the settings and the checks that refuse them."""

# Used when SECRET_KEY is not set; ``merchant_platform.checks`` refuses it when DEBUG is off.
DEV_SECRET_KEY = "django-insecure-dev-key-do-not-use-in-production"  # noqa: S105
