"""Admin for uploads, conversions and batches: read-only history with previews side by side.

Conversions are benchmark data, so nobody edits them here; superusers may delete them. The input
image is served by a small staff-only admin view (the media folder is not public); the SVG is
inlined as a base64 data: URI in an <img>, where it cannot run script (it is sanitised anyway).
Importing the package registers every model admin (Django's autodiscover imports it).
"""

from conversions.admin import batches, records, uploads

__all__ = ["batches", "records", "uploads"]
