"""Who may see what: owners, anonymous clients, tokens, SVGAI_REQUIRE_AUTH, CSRF and origins."""

from __future__ import annotations

import io
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.contrib.auth.models import User
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from conversions.models import Conversion, Upload
from conversions.permissions import CLIENT_COOKIE

ROOT = Path(__file__).resolve().parents[2]


def upload(client: APIClient, logo_png: bytes, **extra) -> dict:
    file = SimpleUploadedFile("logo.png", logo_png, content_type="image/png")
    response = client.post("/api/upload", {"file": file}, format="multipart", **extra)
    assert response.status_code == 200, response.content
    return response.json()


def convert(client: APIClient, file_id: str, **extra):
    return client.post("/api/convert", {"file_id": file_id}, format="json", **extra)


def listed(client: APIClient) -> set[str]:
    return {row["conversion_id"] for row in client.get("/api/conversions/").json()["results"]}


@pytest.fixture
def token_client(db):
    def make(name: str, *, staff: bool = False) -> APIClient:
        user = User.objects.create_user(name, password="a long unusual passphrase", is_staff=staff)
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=user).key}")
        client.user = user
        return client

    return make


@pytest.mark.django_db
def test_cookieless_client_uploads_then_converts_by_file_id(logo_png):
    # The published clients keep no cookies: each request is a stranger, the UUIDs carry access.
    file_id = upload(APIClient(), logo_png)["file_id"]

    response = convert(APIClient(), file_id)

    assert response.status_code == 200, response.content
    conversion_id = response.json()["conversion_id"]
    assert APIClient().get(f"/api/conversions/{conversion_id}/").status_code == 200
    assert APIClient().get(f"/api/conversions/{conversion_id}/svg").status_code == 200


@pytest.mark.django_db
def test_anonymous_list_shows_only_the_callers_own(logo_png):
    alice, bob = APIClient(), APIClient()
    mine = convert(alice, upload(alice, logo_png)["file_id"]).json()["conversion_id"]
    theirs = convert(bob, upload(bob, logo_png)["file_id"]).json()["conversion_id"]

    assert CLIENT_COOKIE in alice.cookies
    assert listed(alice) == {mine}
    assert listed(bob) == {theirs}
    assert listed(APIClient()) == set()  # no client id: nothing is "yours"


@pytest.mark.django_db
def test_client_cookie_is_signed(logo_png):
    client = APIClient()
    upload(client, logo_png)
    client.cookies[CLIENT_COOKIE] = "forged-value"

    assert listed(client) == set()


@pytest.mark.django_db
def test_users_records_are_theirs_alone_and_staff_see_all(logo_png, token_client):
    alice, bob, staff = token_client("alice"), token_client("bob"), token_client("ops", staff=True)
    file_id = upload(alice, logo_png)["file_id"]
    conversion_id = convert(alice, file_id).json()["conversion_id"]
    stored = Conversion.objects.get(pk=conversion_id)

    assert stored.owner == alice.user
    assert Upload.objects.get(pk=file_id).owner == alice.user
    assert listed(alice) == {conversion_id}
    assert listed(bob) == set()
    assert conversion_id in listed(staff)
    # A user's records are not reachable by id by anyone else, signed in or not.
    for other in (bob, APIClient()):
        assert other.get(f"/api/conversions/{conversion_id}/").status_code == 404
        assert other.get(f"/api/conversions/{conversion_id}/svg").status_code == 404
        assert convert(other, file_id).status_code == 404
    assert staff.get(f"/api/conversions/{conversion_id}/").status_code == 200


@pytest.mark.django_db
def test_require_auth_turns_anonymous_use_off(settings, logo_png, token_client):
    settings.SVGAI_REQUIRE_AUTH = True
    file = SimpleUploadedFile("logo.png", logo_png, content_type="image/png")

    response = APIClient().post("/api/upload", {"file": file}, format="multipart")

    assert response.status_code == 401
    assert "Token" in response.json()["error"]
    assert APIClient().get("/api/conversions/").status_code == 401
    user = token_client("carol")
    assert convert(user, upload(user, logo_png)["file_id"]).status_code == 200


@pytest.mark.django_db
def test_manage_py_creates_api_tokens():
    User.objects.create_user("dave", password="another long passphrase")
    out = io.StringIO()

    call_command("drf_create_token", "dave", stdout=out)

    key = Token.objects.get(user__username="dave").key
    assert key in out.getvalue()
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    assert client.get("/api/conversions/").status_code == 200


@pytest.mark.django_db
def test_admin_lists_tokens(admin_client):
    assert admin_client.get("/admin/authtoken/tokenproxy/").status_code == 200


@pytest.mark.django_db
def test_session_api_calls_need_csrf(logo_png):
    user = User.objects.create_user("erin", password="yet another long passphrase")
    client = APIClient(enforce_csrf_checks=True)
    client.force_login(user)
    file = SimpleUploadedFile("logo.png", logo_png, content_type="image/png")

    refused = client.post("/api/upload", {"file": file}, format="multipart")

    assert refused.status_code == 403
    assert "CSRF" in refused.json()["error"]
    client.get("/")  # the page sets the CSRF cookie, as a browser would get it
    token = client.cookies["csrftoken"].value
    file.seek(0)
    accepted = client.post(
        "/api/upload", {"file": file}, format="multipart", HTTP_X_CSRFTOKEN=token
    )
    assert accepted.status_code == 200, accepted.content
    assert Upload.objects.get(pk=accepted.json()["file_id"]).owner == user


@pytest.mark.django_db
@pytest.mark.parametrize("path", ["/api/upload", "/api/convert", "/api/convert-ai"])
def test_cross_site_post_is_refused(path, logo_png):
    file = SimpleUploadedFile("logo.png", logo_png, content_type="image/png")

    response = APIClient().post(
        path, {"file": file, "file_id": "x"}, format="multipart", HTTP_ORIGIN="https://evil.example"
    )

    assert response.status_code == 403
    body = response.json()
    assert body["success"] is False
    assert "SVGAI_ALLOWED_ORIGINS" in body["error"]
    assert not Upload.objects.exists()


@pytest.mark.django_db
def test_cross_site_form_without_origin_but_fetch_metadata_is_refused(logo_png):
    file = SimpleUploadedFile("logo.png", logo_png, content_type="image/png")

    response = APIClient().post(
        "/api/upload", {"file": file}, format="multipart", HTTP_SEC_FETCH_SITE="cross-site"
    )

    assert response.status_code == 403


@pytest.mark.django_db
def test_same_site_and_listed_origins_may_post(settings, logo_png):
    settings.SVGAI_ALLOWED_ORIGINS = ["https://app.example"]
    settings.CORS_ALLOWED_ORIGINS = ["https://app.example"]

    upload(APIClient(), logo_png, HTTP_ORIGIN="http://testserver")
    upload(APIClient(), logo_png, HTTP_ORIGIN="https://app.example")
    preflight = APIClient().options(
        "/api/convert",
        HTTP_ORIGIN="https://app.example",
        HTTP_ACCESS_CONTROL_REQUEST_METHOD="POST",
        HTTP_ACCESS_CONTROL_REQUEST_HEADERS="content-type,authorization",
    )

    assert preflight["Access-Control-Allow-Origin"] == "https://app.example"
    stranger = APIClient().options(
        "/api/convert",
        HTTP_ORIGIN="https://evil.example",
        HTTP_ACCESS_CONTROL_REQUEST_METHOD="POST",
    )
    assert "Access-Control-Allow-Origin" not in stranger


@pytest.mark.django_db
def test_admin_login_locks_out_after_repeated_failures(client):
    User.objects.create_superuser("admin", "admin@example.com", "the right passphrase 42")
    for _ in range(5):
        client.post("/admin/login/", {"username": "admin", "password": "wrong"})

    response = client.post(
        "/admin/login/?next=/admin/", {"username": "admin", "password": "the right passphrase 42"}
    )

    assert response.status_code == 429
    assert "_auth_user_id" not in client.session


def test_password_validators_refuse_a_one_letter_password():
    from django.contrib.auth.password_validation import validate_password
    from django.core.exceptions import ValidationError

    with pytest.raises(ValidationError):
        validate_password("a")


def test_check_deploy_is_clean_with_https():
    env = {
        **os.environ,
        "SVGAI_HTTPS": "true",
        "DEBUG": "false",
        "SECRET_KEY": "x" * 20 + "-deploy-check-" + "Zq8#kP2$wL9@vN4!mR7%" * 2,
        "ALLOWED_HOSTS": "svgai.example.com",
    }

    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )

    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout
