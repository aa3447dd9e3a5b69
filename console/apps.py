from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ConsoleConfig(AppConfig):
    """The integrator's console: every seller's funnel stage, takings and problems, and the
    platform's operations health, for platform staff."""

    name = "console"
    verbose_name = _("Integrator's console")
