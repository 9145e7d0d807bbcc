"""Routes: django-oauth-toolkit's endpoints under /o/ as in its documentation, a login page for the tests
that play the user, and two endpoints of DOT's wrapped by tokentop_dot.views for the device flow."""

from django.contrib.auth.views import LoginView
from django.urls import include, path

from tokentop_dot import views

urlpatterns = [
    path("accounts/login/", LoginView.as_view(template_name="tokentop_dot/login.html"), name="login"),
    path("o/device-authorization/", views.DeviceAuthorizationView.as_view()),
    path("o/token/", views.TokenView.as_view()),
    path("o/", include("oauth2_provider.urls", namespace="oauth2_provider")),
]
