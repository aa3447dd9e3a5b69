"""Filled in by the sandbox issue."""

urlpatterns = []
