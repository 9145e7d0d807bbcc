"""Routes: only django-oauth-toolkit's endpoints, under /o/ as in its documentation."""

from django.urls import include, path

urlpatterns = [
    path("o/", include("oauth2_provider.urls", namespace="oauth2_provider")),
]
