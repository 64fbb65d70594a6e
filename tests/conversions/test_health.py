"""/health/: the database check passes (the AI check needs trained weights)."""

from __future__ import annotations

import pytest


@pytest.mark.django_db
def test_health_reports_database_ok_as_json(client):
    response = client.get("/health/?format=json")

    assert response["Content-Type"].startswith("application/json")
    checks = response.json()
    database = [status for name, status in checks.items() if name.startswith("Database")]
    assert database == ["OK"]
    assert response.status_code == (200 if set(checks.values()) == {"OK"} else 503)
