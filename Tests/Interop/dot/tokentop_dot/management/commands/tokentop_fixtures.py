"""Creates, or resets to their known values, the fake user and applications the tests use."""

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand
from django.db import transaction
from oauth2_provider.models import get_application_model

from tokentop_dot import fixture


class Command(BaseCommand):
    help = "Create (idempotently) the user alice and the tokentop test applications."

    @transaction.atomic
    def handle(self, *args, **options):
        user, _ = get_user_model().objects.get_or_create(username=fixture.USERNAME)
        user.set_password(fixture.PASSWORD)
        user.is_active = True
        user.save()

        application = get_application_model()
        apps = [
            (fixture.BASIC_CLIENT, application.GRANT_PASSWORD),
            (fixture.POST_CLIENT, application.GRANT_PASSWORD),
            # client_credentials lets the introspector also fetch a bearer token with the
            # `introspection` scope; plain client authentication works too (see README).
            (fixture.INTROSPECTOR_CLIENT, application.GRANT_CLIENT_CREDENTIALS),
            # tokentop's bot connections mint their tokens with these (RFC 6749 section 4.4).
            (fixture.BOT_BASIC_CLIENT, application.GRANT_CLIENT_CREDENTIALS),
            (fixture.BOT_POST_CLIENT, application.GRANT_CLIENT_CREDENTIALS),
        ]
        for (client_id, client_secret), grant in apps:
            application.objects.update_or_create(
                client_id=client_id,
                defaults={
                    "name": client_id,
                    "client_secret": client_secret,
                    # Stored as given, so the test suite can authenticate with the same fake value.
                    "hash_client_secret": False,
                    "client_type": application.CLIENT_CONFIDENTIAL,
                    "authorization_grant_type": grant,
                    "redirect_uris": "",
                    "skip_authorization": True,
                },
            )
        application.objects.update_or_create(
            client_id=fixture.USER_CLIENT[0],
            defaults={
                "name": fixture.USER_CLIENT[0],
                "client_secret": fixture.USER_CLIENT[1],
                "hash_client_secret": False,
                "client_type": application.CLIENT_CONFIDENTIAL,
                "authorization_grant_type": application.GRANT_AUTHORIZATION_CODE,
                "redirect_uris": fixture.USER_REDIRECT_URI,
                # The consent page is shown, so that a test can deny it.
                "skip_authorization": False,
            },
        )
        for client_id in (fixture.DEVICE_CLIENT, fixture.DEVICE_SHORT_CLIENT):
            application.objects.update_or_create(
                client_id=client_id,
                defaults={
                    "name": client_id,
                    "client_secret": "",
                    "client_type": application.CLIENT_PUBLIC,
                    "authorization_grant_type": application.GRANT_DEVICE_CODE,
                    "redirect_uris": "",
                    "skip_authorization": False,
                },
            )
        # Counts only: this command never prints a secret.
        self.stdout.write(f"fixtures ready: 1 user, {len(apps) + 3} applications")
