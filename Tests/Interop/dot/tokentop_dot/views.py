"""Two of django-oauth-toolkit's views, wrapped for the device-flow tests.

DOT 3.4.1 answers the device authorization request with its setting OAUTH_DEVICE_VERIFICATION_URI as it
is, which cannot know the port this test server binds; it gives every device code DOT's fixed 1800 s
lifetime; and its token view checks a code's expiry only once somebody has entered the user code, so a
code nobody entered would answer authorization_pending forever instead of expired_token (RFC 8628
section 3.5). These wrappers fix the three for the tests; they change nothing else.
"""

import json
from datetime import timedelta
from urllib.parse import urlencode

from django import http
from django.urls import reverse
from django.utils import timezone
from oauth2_provider import views as dot_views
from oauth2_provider.models import get_device_grant_model

from tokentop_dot import fixture

DEVICE_GRANT = "urn:ietf:params:oauth:grant-type:device_code"


class DeviceAuthorizationView(dot_views.DeviceAuthorizationView):
    """Absolute verification URIs, and DEVICE_SHORT_SECONDS of life for the short client's codes."""

    def post(self, request, *args, **kwargs):
        response = super().post(request, *args, **kwargs)
        if response.status_code != 200:
            return response
        data = json.loads(response.content)
        page = request.build_absolute_uri(reverse("oauth2_provider:device"))
        data["verification_uri"] = page
        data["verification_uri_complete"] = page + "?" + urlencode({"user_code": data["user_code"]})
        if request.POST.get("client_id") == fixture.DEVICE_SHORT_CLIENT:
            grant = get_device_grant_model().objects.get(device_code=data["device_code"])
            grant.expires = timezone.now() + timedelta(seconds=fixture.DEVICE_SHORT_SECONDS)
            grant.save(update_fields=["expires"])
            data["expires_in"] = fixture.DEVICE_SHORT_SECONDS
        return http.JsonResponse(data)


class TokenView(dot_views.TokenView):
    """Marks an expired device code expired before DOT answers a poll of it."""

    def post(self, request, *args, **kwargs):
        if request.POST.get("grant_type") == DEVICE_GRANT:
            grant = get_device_grant_model().objects.filter(device_code=request.POST.get("device_code")).first()
            if grant is not None:
                grant.is_expired()
        return super().post(request, *args, **kwargs)
