"""WSGI entry point that serve.py hands to waitress."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tokentop_dot.settings")
application = get_wsgi_application()
