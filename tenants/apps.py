from django.apps import AppConfig
from django.db.models.signals import post_migrate, pre_migrate
from django.utils.translation import gettext_lazy as _


class TenantsConfig(AppConfig):
    name = "tenants"
    verbose_name = _("Sellers")

    def ready(self):
        from tenants import db

        # SQLite's same-tenant triggers (tenants/db.py): out of the way of every migration,
        # back after it.
        pre_migrate.connect(db.drop_triggers_before_migrate, sender=self)
        post_migrate.connect(db.install_triggers_after_migrate, sender=self)
