from django.apps import AppConfig


class MerchantPlatformConfig(AppConfig):
    name = "merchant_platform"
    verbose_name = "Merchant platform"

    def ready(self):
        from merchant_platform import checks  # noqa: F401  (registers the system checks)
