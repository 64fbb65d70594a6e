"""The one benchmark HTTP client and the load benchmark, against this app served in a thread."""

from __future__ import annotations

import socket
from io import StringIO

import pytest
from django.core.management import call_command

from aimodels import registry
from benchmarks import load
from benchmarks.api import live_server
from benchmarks.http import NO_ANSWER, ApiClient
from conversions.models import Conversion
from tests.conftest import DATA

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def served_here(settings):
    """Let the served app answer requests addressed to 127.0.0.1 (the tests allow testserver)."""
    settings.ALLOWED_HOSTS = ["127.0.0.1"]


def test_send_answers_a_refusal_and_request_raises_on_it():
    with live_server() as url:
        client = ApiClient(url)
        reply = client.send("POST", "/api/convert", b'{"file_id": "nope"}', "application/json")

        assert reply.status == 404, reply.body
        assert not reply.ok
        assert reply.body["success"] is False
        with pytest.raises(RuntimeError, match="POST /api/convert answered 404"):
            client.convert("nope")


def test_send_counts_a_server_that_does_not_answer_as_the_servers_failure():
    with socket.socket() as closed:  # a port nothing listens on once the socket is closed
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]

    reply = ApiClient(f"http://127.0.0.1:{port}", timeout=5).send("GET", "/api/ai-health")

    assert reply.status == NO_ANSWER
    assert reply.body["error"]


def test_the_load_mix_sends_every_kind_and_counts_the_rows_it_stored():
    images = sorted(DATA.glob("*.png"))[:2]

    with registry.override(), live_server() as url:  # the served app loads the models at start
        mix = load.Mix(ApiClient(url, cookies=False), images)
        # Two clients at a time, four rounds: every kind of the mix once, concurrently.
        (level,) = load.run(mix, [2], rounds=len(load.MIX) // 2)

    assert level.clients == 2
    assert sorted(o.kind for o in level.outcomes) == sorted(load.MIX)
    assert level.failures == []
    assert [o for o in level.outcomes if o.status != 200] == []
    answered = sum(o.kind in load.CONVERSIONS for o in level.outcomes)
    assert level.stored == {Conversion.Status.SUCCEEDED: answered}
    n = len(load.MIX)
    assert level.row().startswith(f"| 2 | {n} | {n} | 0 | 0 |")
    assert f"| {answered} / 0 | {answered} / 0 / 0 |" in level.row()


def test_benchmark_load_refuses_a_server_elsewhere():
    with pytest.raises(Exception, match="only target this machine"):
        call_command("benchmark_load", "--url", "http://192.0.2.1:8000", stdout=StringIO())
