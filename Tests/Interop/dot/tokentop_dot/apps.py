"""App config, so Django finds the tokentop_fixtures management command."""

from django.apps import AppConfig


class TokentopDotConfig(AppConfig):
    name = "tokentop_dot"
    default_auto_field = "django.db.models.BigAutoField"
