"""Settings of the server the browser tests start: the real ones, static files from the app folders.

`collectstatic` takes seconds and the browser suite runs twice in CI; WhiteNoise can serve the
files straight from the app folders instead, with the same headers.
"""

from svgai_site.settings import *  # noqa: F403

STORAGES = {
    **STORAGES,  # noqa: F405
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = True
