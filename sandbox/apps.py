from django.apps import AppConfig
from django.db.models.signals import post_migrate


class SandboxConfig(AppConfig):
    name = "sandbox"
    verbose_name = "Mercado Pago sandbox"

    def ready(self):
        from sandbox import signals  # noqa: F401  (sends each new Event once committed)
        from sandbox.seed import seed

        post_migrate.connect(seed, sender=self)
