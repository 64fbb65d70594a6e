"""Who a record belongs to: a signed-in user, else the anonymous caller's client id.

conversions.permissions works it out per request; services and batches stamp it on the
uploads, conversions and batches the caller creates.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from django.contrib.auth.models import User


@dataclass(frozen=True)
class Owner:
    """The owner of the records a caller creates now (see conversions.permissions)."""

    user: User | None = None
    client: str = ""  # the anonymous caller's client id, hashed; empty for a user
    quota_key: str = ""  # what an upload counts against (conversions.limits); uploads only

    @property
    def known(self) -> bool:
        """Return whether there is an owner at all (commands and benchmarks create without)."""
        return self.user is not None or bool(self.client)
