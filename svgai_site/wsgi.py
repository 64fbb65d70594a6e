"""WSGI entry point for gunicorn (and runserver, which serves the same application)."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "svgai_site.settings")
application = get_wsgi_application()

# A server loads its models at start, so the first conversion is not the slow one; commands
# that never convert skip them (see aimodels.registry).
from aimodels import registry  # noqa: E402  (needs the apps that get_wsgi_application set up)

registry.ensure_loaded()
