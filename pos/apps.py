from django.apps import AppConfig


class PosConfig(AppConfig):
    name = "pos"
    verbose_name = "Stores and points of sale"
