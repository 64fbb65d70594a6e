"""Admin lockout by address too: spraying passwords over many usernames from one address locks it.

Before, axes counted failures per username and address only: one address could try every
username five times and never be locked.
"""

from __future__ import annotations

import pytest
from django.contrib.auth.models import User
from django.test import Client

PASSWORD = "the right passphrase 42"


def fail(client: Client, username: str) -> int:
    return client.post("/admin/login/", {"username": username, "password": "wrong"}).status_code


def log_in(client: Client) -> int:
    response = client.post(
        "/admin/login/?next=/admin/", {"username": "admin", "password": PASSWORD}
    )
    return response.status_code


@pytest.fixture
def admin(db) -> User:
    return User.objects.create_superuser("admin", "admin@example.com", PASSWORD)


@pytest.mark.django_db
def test_spraying_many_usernames_from_one_address_locks_the_address(admin, settings):
    settings.SVGAI_LOGIN_ADDRESS_FAILURE_LIMIT = 8
    sprayer = Client(REMOTE_ADDR="203.0.113.7")

    codes = [fail(sprayer, f"user{n}") for n in range(8)]  # each username fails once only

    assert 429 not in codes[:7]
    assert fail(sprayer, "someone-else") == 429
    assert log_in(sprayer) == 429  # even the right password, from this address
    assert "_auth_user_id" not in sprayer.session


@pytest.mark.django_db
def test_an_address_lockout_leaves_other_addresses_alone(admin, settings):
    settings.SVGAI_LOGIN_ADDRESS_FAILURE_LIMIT = 8
    sprayer, colleague = Client(REMOTE_ADDR="203.0.113.7"), Client(REMOTE_ADDR="198.51.100.9")
    for n in range(9):
        fail(sprayer, f"user{n}")

    assert log_in(colleague) == 302


@pytest.mark.django_db
def test_a_few_typos_by_several_people_at_one_address_lock_no_one(admin, settings):
    # An office behind one address: four people each mistype twice, then log in.
    settings.SVGAI_LOGIN_ADDRESS_FAILURE_LIMIT = 20
    office = Client(REMOTE_ADDR="192.0.2.10")
    for name in ("ann", "bob", "cy", "admin"):
        fail(office, name)
        fail(office, name)

    assert log_in(office) == 302


@pytest.mark.django_db
def test_one_username_still_locks_at_its_own_limit(admin, settings):
    client = Client(REMOTE_ADDR="192.0.2.11")
    for _ in range(settings.SVGAI_LOGIN_FAILURE_LIMIT):
        fail(client, "admin")

    assert log_in(client) == 429
