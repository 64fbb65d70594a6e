"""Cost limits: throttles, the upload quota, the pixel budget per tier, a busy pool."""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Iterator

import lifecycle_jobs
import pytest
from django.contrib.auth.models import AnonymousUser, User
from django.core.cache import cache
from django.core.files.uploadedfile import SimpleUploadedFile
from rest_framework.authtoken.models import Token
from rest_framework.request import Request
from rest_framework.test import APIClient, APIRequestFactory

from conversions import limits, services
from conversions.models import Conversion
from vectorizer.workers import WorkerError, WorkerPool


@pytest.fixture(autouse=True)
def _fresh_throttle_history():
    cache.clear()
    yield
    cache.clear()


def post_upload(client: APIClient, data: bytes, name: str = "logo.png"):
    file = SimpleUploadedFile(name, data, content_type="image/png")
    return client.post("/api/upload", {"file": file}, format="multipart")


def assert_429(response) -> None:
    assert response.status_code == 429, response.content
    assert int(response["Retry-After"]) >= 1
    body = response.json()
    assert body["success"] is False
    assert body["error"]


@pytest.mark.django_db
def test_anonymous_uploads_are_throttled_with_retry_after(settings, logo_png):
    settings.SVGAI_THROTTLE_RATES = {"upload_anon": "2/min"}
    client = APIClient()

    codes = [post_upload(client, logo_png).status_code for _ in range(2)]

    assert codes == [200, 200]
    assert_429(post_upload(client, logo_png))
    assert_429(post_upload(APIClient(), logo_png))  # a new cookie is the same address


@pytest.mark.django_db
def test_users_have_their_own_throttle(settings, logo_png):
    settings.SVGAI_THROTTLE_RATES = {"upload_anon": "1/min", "upload_user": "3/min"}
    user = User.objects.create_user("u1", password="a long unusual passphrase")
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=user).key}")
    assert post_upload(APIClient(), logo_png).status_code == 200
    assert post_upload(APIClient(), logo_png).status_code == 429

    codes = [post_upload(client, logo_png).status_code for _ in range(4)]

    assert codes == [200, 200, 200, 429]


@pytest.mark.django_db
def test_conversions_are_throttled(settings, upload_file_id):
    settings.SVGAI_THROTTLE_RATES = {"convert_anon": "1/min"}
    client = APIClient()
    assert (
        client.post("/api/convert", {"file_id": upload_file_id}, format="json").status_code == 200
    )

    assert_429(client.post("/api/convert", {"file_id": upload_file_id}, format="json"))
    assert_429(client.post("/api/convert-ai", {"file_id": upload_file_id}, format="json"))


@pytest.mark.django_db
def test_upload_quota_per_client(settings, logo_png):
    settings.SVGAI_UPLOAD_QUOTA_FILES = 2
    assert post_upload(APIClient(), logo_png).status_code == 200
    assert post_upload(APIClient(), logo_png).status_code == 200

    response = post_upload(APIClient(), logo_png)

    assert_429(response)
    assert "Upload quota reached: at most 2 files" in response.json()["error"]
    assert int(response["Retry-After"]) > 23 * 3600  # the oldest upload leaves the window then


@pytest.mark.django_db
def test_upload_quota_counts_bytes(settings, logo_png):
    settings.SVGAI_UPLOAD_QUOTA_BYTES = len(logo_png) * 3 // 2
    assert post_upload(APIClient(), logo_png).status_code == 200

    assert_429(post_upload(APIClient(), logo_png))


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("endpoint", "tier", "label"),
    [
        ("/api/convert", None, "the legacy converter"),
        ("/api/convert-ai", 3, "tier 3"),
        ("/api/convert-ai", "auto", "tier auto"),
    ],
)
def test_pixel_budget_refuses_with_a_clear_message(settings, upload_file_id, endpoint, tier, label):
    # The drawn logo is 128×128 = 16,384 pixels.
    settings.SVGAI_PIXEL_BUDGETS = {"legacy": 4096, "1": 20000, "2": 20000, "3": 4096}
    body = {"file_id": upload_file_id} | ({"tier": tier} if tier else {})

    response = APIClient().post(endpoint, body, format="json")

    assert response.status_code == 413, response.content
    error = response.json()["error"]
    assert f"{label} converts at most 0.0 MP" in error
    assert "downscaled to at most 64×64" in error
    assert "choose tier 1/2" in error
    assert not Conversion.objects.exists()


@pytest.mark.django_db
def test_pixel_budget_lets_small_images_through(settings, upload_file_id):
    settings.SVGAI_PIXEL_BUDGETS = {"legacy": 16384, "1": 16384, "2": 16384, "3": 16384}

    response = APIClient().post("/api/convert", {"file_id": upload_file_id}, format="json")

    assert response.status_code == 200


@contextlib.contextmanager
def services_pool_held(monkeypatch, pool: WorkerPool) -> Iterator[WorkerPool]:
    """Serve the conversions from `pool`, its one worker held by a 60 s job until the end."""
    pool.warm_up()
    monkeypatch.setattr(services, "worker_pool", lambda: pool)

    def hold() -> None:
        with contextlib.suppress(WorkerError):  # close() below kills the job
            pool.run(lifecycle_jobs.sleep, 60.0, timeout=90)

    blocker = threading.Thread(target=hold)
    blocker.start()
    try:
        assert _wait_for(lambda: pool.running() == 1)
        yield pool
    finally:
        pool.close()
        blocker.join()


@pytest.fixture
def busy_pool(monkeypatch):
    """A one-worker pool with no queue, held by a long job until the test ends."""
    with services_pool_held(monkeypatch, WorkerPool(1, max_queue=0, queue_wait=0.2)) as pool:
        yield pool


def _wait_for(predicate, seconds: float = 10.0) -> bool:
    deadline = time.monotonic() + seconds
    while not predicate() and time.monotonic() < deadline:
        time.sleep(0.05)
    return predicate()


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("endpoint", "extra"),
    [("/api/convert", {}), ("/api/convert-ai", {"tier": 1}), ("/api/convert-ai", {"tier": 2})],
)
def test_full_queue_answers_503_with_retry_after(upload_file_id, busy_pool, endpoint, extra):
    response = APIClient().post(endpoint, {"file_id": upload_file_id, **extra}, format="json")

    # Refused while the 60 s job still holds the only worker: the request did not wait for it.
    assert busy_pool.running() == 1
    assert response.status_code == 503, response.content
    assert int(response["Retry-After"]) >= 1
    assert "busy" in response.json()["error"]
    assert not Conversion.objects.exists()  # nothing was done: no record


@pytest.fixture
def held_pool(monkeypatch):
    """A one-worker pool with room for 32 waiting jobs of 30 s, its worker held by a long job.

    Only the expected wait (a second, the pool's first guess of a job's time, per job ahead)
    can refuse a job here: the queue is nowhere near full.
    """
    held = WorkerPool(1, max_queue=32, queue_wait=30.0, expected_wait=0.5)
    with services_pool_held(monkeypatch, held) as pool:
        yield pool


@pytest.mark.django_db
def test_a_long_expected_wait_answers_503_before_the_queue_is_full(upload_file_id, held_pool):
    response = APIClient().post("/api/convert", {"file_id": upload_file_id}, format="json")

    assert response.status_code == 503, response.content
    assert int(response["Retry-After"]) >= 1
    assert "would hold this one about 1 s" in response.json()["error"]
    assert held_pool.queue_length() == 0  # refused before joining the queue, not after 30 s
    assert held_pool.rejected == 1
    assert not Conversion.objects.exists()


@pytest.mark.django_db
@pytest.mark.parametrize("path", ["/api/conversions/", "/api/ai-health", "/api/model-status"])
def test_anonymous_reads_are_throttled_with_retry_after(settings, path):
    settings.SVGAI_THROTTLE_RATES = {"read_anon": "2/min"}
    client = APIClient()

    codes = [client.get(path).status_code for _ in range(2)]

    assert 429 not in codes
    assert_429(client.get(path))


@pytest.mark.django_db
def test_reads_do_not_count_against_writes_or_writes_against_reads(settings, logo_png):
    settings.SVGAI_THROTTLE_RATES = {"read_anon": "1/min"}
    client = APIClient()

    assert post_upload(client, logo_png).status_code == 200
    assert post_upload(client, logo_png).status_code == 200  # uploads are not reads
    assert client.get("/api/conversions/").status_code == 200
    assert_429(client.get("/api/conversions/"))


@pytest.mark.django_db
def test_quality_report_has_a_stricter_throttle_per_user(settings):
    settings.SVGAI_THROTTLE_RATES = {"read_user": "100/min", "report_user": "1/min"}
    user = User.objects.create_user("reader", password="a long unusual passphrase")
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=user).key}")

    assert client.get("/api/reports/quality").status_code == 200
    assert_429(client.get("/api/reports/quality"))
    assert client.get("/api/conversions/").status_code == 200  # other reads still pass


def token_client(username: str = "worker") -> APIClient:
    user = User.objects.create_user(username, password="a long unusual passphrase")
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=user).key}")
    return client


@pytest.mark.django_db
def test_anonymous_time_budget_is_capped_but_a_user_keeps_the_schema_range(
    settings, upload_file_id
):
    settings.SVGAI_ANON_MAX_TIME_BUDGET = 10.0
    request = {"file_id": upload_file_id, "tier": 1, "time_budget": 30}

    anonymous = APIClient().post("/api/convert-ai", request, format="json")
    user = token_client().post("/api/convert-ai", request, format="json")

    assert anonymous.status_code == 400, anonymous.content
    assert "at most 10 seconds without a token" in anonymous.json()["error"]
    assert user.status_code == 200, user.content
    small = APIClient().post("/api/convert-ai", {**request, "time_budget": 10}, format="json")
    assert small.status_code == 200, small.content


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("endpoint", "extra"), [("/api/convert", {}), ("/api/convert-ai", {"tier": 1})]
)
def test_anonymous_conversions_get_the_anonymous_timeout(settings, upload_file_id, endpoint, extra):
    # No trace finishes in a millisecond: the anonymous conversion is stopped, the user's is not.
    settings.SVGAI_ANON_CONVERT_TIMEOUT = 0.001
    body = {"file_id": upload_file_id, **extra}

    anonymous = APIClient().post(endpoint, body, format="json")
    user = token_client().post(endpoint, body, format="json")

    assert anonymous.status_code == 422, anonymous.content
    assert "took longer than 0.001 s" in anonymous.json()["error"]
    assert user.status_code == 200, user.content


@pytest.mark.django_db
@pytest.mark.parametrize(("endpoint", "extra"), [("/api/convert", {}), ("/api/convert-ai", {})])
def test_an_anonymous_address_may_run_only_so_many_conversions_at_once(
    settings, upload_file_id, endpoint, extra
):
    settings.SVGAI_ANON_MAX_CONCURRENT = 2
    held = APIRequestFactory().post(endpoint)  # the same address as the test client's
    held_request = Request(held)
    held_request.user = AnonymousUser()
    body = {"file_id": upload_file_id, **extra}

    with limits.conversion_slot(held_request), limits.conversion_slot(held_request):
        refused = APIClient().post(endpoint, body, format="json")
        user = token_client().post(endpoint, body, format="json")
    after = APIClient().post(endpoint, body, format="json")

    assert_429(refused)
    assert "2 at a time" in refused.json()["error"]
    assert user.status_code == 200, user.content  # users are not limited by address
    assert after.status_code == 200, after.content
    assert Conversion.objects.count() == 2  # the refused request recorded nothing
