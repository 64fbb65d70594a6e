"""Who may reach the operators' endpoints by address alone (/metrics without a token).

A module of its own: metrics needs it, and permissions (which counts refusals in metrics) must
not be imported back by metrics.
"""

from __future__ import annotations

import ipaddress

from django.http import HttpRequest


def address_allowed(request: HttpRequest, networks: list[str]) -> bool:
    """Return whether the caller's direct address is in one of `networks` (CIDR strings)."""
    try:
        address = ipaddress.ip_address(request.META.get("REMOTE_ADDR", ""))
    except ValueError:
        return False
    return any(address in ipaddress.ip_network(net, strict=False) for net in networks)
