"""Admin login lockout: a username at one address, and an address as a whole (django-axes).

django-axes counts failures per lockout parameter but applies one limit to all of them, so
locking the address at the per-user limit would lock a whole office after five typos, and
counting per username alone never locks a password spray over many usernames. This limit
function gives each its own: SVGAI_LOGIN_FAILURE_LIMIT per username and address, and once one
address has failed SVGAI_LOGIN_ADDRESS_FAILURE_LIMIT times within the cool-off (whatever the
usernames), every login from it is locked until the cool-off ends.
"""

from __future__ import annotations

from typing import Any

from axes.helpers import get_client_ip_address, get_cool_off
from axes.models import AccessAttempt
from django.conf import settings
from django.db.models import Sum
from django.http import HttpRequest
from django.utils import timezone


def address_failures(address: str | None) -> int:
    """Return the failed logins from one address within the cool-off, over all usernames."""
    if not address:
        return 0
    attempts = AccessAttempt.objects.filter(ip_address=address)
    cool_off = get_cool_off()
    if cool_off is not None:
        attempts = attempts.filter(attempt_time__gte=timezone.now() - cool_off)
    return attempts.aggregate(total=Sum("failures_since_start"))["total"] or 0


def failure_limit(request: HttpRequest, credentials: Any = None) -> int:
    """Return the failures a username may have at this address: none once the address is over."""
    address = getattr(request, "axes_ip_address", None) or get_client_ip_address(request)
    if address_failures(address) >= settings.SVGAI_LOGIN_ADDRESS_FAILURE_LIMIT:
        return 0  # axes locks when failures >= limit: every username at this address
    return int(settings.SVGAI_LOGIN_FAILURE_LIMIT)
