"""The Django project. Named ``merchant_platform``, not ``platform``, which would shadow the
standard library's ``platform`` module."""

from merchant_platform.celery import app as celery_app

__all__ = ["celery_app"]
