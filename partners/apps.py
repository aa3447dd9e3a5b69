from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class PartnersConfig(AppConfig):
    name = "partners"
    verbose_name = _("Partner apps")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from partners import (
            receivers,  # noqa: F401 (connects the order events to webhooks)
            schema,  # noqa: F401 (registers the OpenAPI auth extension)
            token_cache,  # noqa: F401 (drops kept tokens when they, their grant or seller change)
        )
