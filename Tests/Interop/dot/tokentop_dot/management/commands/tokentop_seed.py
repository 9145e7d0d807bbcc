"""Issues many token pairs for alice at once, as the password grant would, for the load and crash tests.

    manage.py tokentop_seed --client tokentop-basic --prefix run-1a2b --count 1000

Pair i is access token ``fake-at-PREFIX-iiiii`` and refresh token ``fake-rt-PREFIX-iiiii``, each refresh
token its own family (as after a password grant), so the caller derives the values and nothing secret is
printed. One transaction and two bulk inserts: 1,000 pairs take well under a second, where 1,000 password
grants over HTTP take half a minute.
"""

import re
import uuid
from datetime import timedelta

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.utils import timezone
from oauth2_provider.models import (
    get_access_token_model,
    get_application_model,
    get_refresh_token_model,
    set_token_value,
)

from tokentop_dot import fixture


class Command(BaseCommand):
    help = "Issue COUNT token pairs for the fixture user under CLIENT, with values derived from PREFIX."

    def add_arguments(self, parser):
        parser.add_argument("--client", required=True, help="client id of a fixture application")
        parser.add_argument("--prefix", required=True, help="letters, digits and dashes, at most 40")
        parser.add_argument("--count", type=int, required=True, help="how many pairs, 1 to 100000")

    @transaction.atomic
    def handle(self, *args, client, prefix, count, **options):
        if not re.fullmatch(r"[A-Za-z0-9-]{1,40}", prefix):
            raise CommandError("--prefix must be 1 to 40 letters, digits or dashes")
        if not 1 <= count <= 100_000:
            raise CommandError("--count must be between 1 and 100000")
        try:
            application = get_application_model().objects.get(client_id=client)
        except get_application_model().DoesNotExist:
            raise CommandError(f"no application with client id {client}; run tokentop_fixtures first")
        user = get_user_model().objects.get(username=fixture.USERNAME)
        access_model = get_access_token_model()
        refresh_model = get_refresh_token_model()
        if access_model.objects.filter(token__startswith=f"fake-at-{prefix}-").exists():
            raise CommandError(f"prefix {prefix} was used already; pick a fresh one")

        expires = timezone.now() + timedelta(seconds=fixture.access_token_seconds())
        access_tokens = []
        for index in range(count):
            token = access_model(user=user, application=application, expires=expires, scope=fixture.SCOPES)
            set_token_value(token, f"fake-at-{prefix}-{index:05d}")
            access_tokens.append(token)
        # SQLite returns the new primary keys (RETURNING), which the refresh tokens point at.
        access_tokens = access_model.objects.bulk_create(access_tokens, batch_size=500)
        refresh_tokens = []
        for index, access_token in enumerate(access_tokens):
            token = refresh_model(
                user=user, application=application, access_token=access_token, token_family=uuid.uuid4()
            )
            set_token_value(token, f"fake-rt-{prefix}-{index:05d}")
            refresh_tokens.append(token)
        refresh_model.objects.bulk_create(refresh_tokens, batch_size=500)
        # Counts only: never a token.
        self.stdout.write(f"seeded {count} token pairs for {client}")
