"""The OAuth authorization page and token endpoint (api.md §5), under /sandbox/."""

from django.urls import path

from sandbox import oauth_views

urlpatterns = [
    path("authorization", oauth_views.authorization, name="sandbox-oauth-authorization"),
    path("oauth/token", oauth_views.token, name="sandbox-oauth-token"),
]
