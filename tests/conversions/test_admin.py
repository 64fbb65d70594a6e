"""The admin: read-only conversion history with previews, and switching the active model."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
from pathlib import Path

import pytest
from django.contrib.auth.models import Permission
from django.contrib.messages import get_messages

from aimodels import registry
from aimodels.models import ModelVersion
from conversions import services
from conversions.models import Conversion
from vectorizer.designer import DesignOptions
from vectorizer.tracing import TraceParams

CHANGELIST = "/admin/conversions/conversion/"


@pytest.fixture
def staff_client(client, django_user_model):
    user = django_user_model.objects.create_superuser("admin", "admin@example.com", "pw")
    client.force_login(user)
    return client


@pytest.fixture
def conversion(logo_png) -> Conversion:
    upload, _ = services.store_upload(data=logo_png, filename="acme <b>logo</b>.png")
    result = services.convert_image(upload=upload, params=TraceParams())
    assert result.succeeded, result.error
    return result


def result_ids(response) -> set:
    return {c.pk for c in response.context["cl"].result_list}


@pytest.mark.django_db
def test_conversion_changelist_shows_both_thumbnails(staff_client, conversion):
    response = staff_client.get(CHANGELIST)

    assert response.status_code == 200
    html = response.content.decode()
    assert "data:image/svg+xml;base64," in html
    assert f"/admin/conversions/upload/{conversion.upload_id}/image/?size=64" in html
    assert f"{conversion.ssim:.4f}" in html
    # The file name is user input: shown escaped, never as markup.
    assert "acme &lt;b&gt;logo&lt;/b&gt;.png" in html
    assert "<b>logo</b>" not in html


@pytest.mark.django_db
def test_conversion_change_page_shows_metrics_previews_and_download(staff_client, conversion):
    response = staff_client.get(f"{CHANGELIST}{conversion.pk}/change/")

    assert response.status_code == 200
    html = response.content.decode()
    assert f'href="/api/conversions/{conversion.pk}/svg"' in html
    assert "data:image/svg+xml;base64," in html
    assert f"/admin/conversions/upload/{conversion.upload_id}/image/?size=360" in html
    assert f"{conversion.svg_bytes:,} bytes" in html
    assert "&quot;filter_speckle&quot;: 4" in html  # parameters, pretty-printed
    assert 'name="_save"' not in html  # read-only


@pytest.mark.django_db
def test_upload_image_view_serves_input_to_staff(staff_client, conversion, logo_png):
    url = f"/admin/conversions/upload/{conversion.upload_id}/image/"

    original = staff_client.get(url)
    thumbnail = staff_client.get(f"{url}?size=64")

    assert original.status_code == 200
    assert original["Content-Type"] == "image/png"
    assert original.content == logo_png
    assert thumbnail.status_code == 200
    assert thumbnail.content.startswith(b"\x89PNG")
    assert (
        staff_client.get(f"/admin/conversions/upload/{conversion.upload_id}/change/").status_code
        == 200
    )


@pytest.mark.django_db
def test_conversion_changelist_search(staff_client, conversion):
    assert result_ids(staff_client.get(CHANGELIST, {"q": "acme"})) == {conversion.pk}
    assert result_ids(staff_client.get(CHANGELIST, {"q": conversion.upload.sha256[:16]})) == {
        conversion.pk
    }
    assert result_ids(staff_client.get(CHANGELIST, {"q": str(conversion.pk)})) == {conversion.pk}
    assert result_ids(staff_client.get(CHANGELIST, {"q": "no-such-logo"})) == set()


@pytest.mark.django_db
def test_conversion_changelist_filters(staff_client, conversion):
    failed = Conversion.objects.create(
        upload=conversion.upload,
        status=Conversion.Status.FAILED,
        error="Conversion failed: vtracer panicked",
    )

    assert result_ids(staff_client.get(CHANGELIST, {"status__exact": "failed"})) == {failed.pk}
    assert result_ids(staff_client.get(CHANGELIST, {"status__exact": "succeeded"})) == {
        conversion.pk
    }
    assert result_ids(staff_client.get(CHANGELIST, {"kind__exact": "ai"})) == set()
    assert result_ids(staff_client.get(CHANGELIST, {"fallback_used__exact": "0"})) == {
        conversion.pk,
        failed.pk,
    }
    assert result_ids(staff_client.get(CHANGELIST, {"q": "panicked"})) == {failed.pk}
    assert (
        staff_client.get(CHANGELIST, {"created_at__gte": "2000-01-01 00:00:00+00:00"}).status_code
        == 200
    )


@pytest.mark.django_db
def test_admin_redirects_non_staff(client, django_user_model, conversion):
    user = django_user_model.objects.create_user("visitor", password="pw")
    client.force_login(user)

    for url in (
        CHANGELIST,
        f"{CHANGELIST}{conversion.pk}/change/",
        f"/admin/conversions/upload/{conversion.upload_id}/image/",
    ):
        response = client.get(url)
        assert response.status_code == 302
        assert response["Location"].startswith("/admin/login/")


@pytest.mark.django_db
def test_conversions_cannot_be_added_changed_or_deleted_by_plain_staff(
    client, django_user_model, conversion
):
    user = django_user_model.objects.create_user("staff", password="pw", is_staff=True)
    user.user_permissions.set(
        Permission.objects.filter(
            codename__in=[
                "view_conversion",
                "add_conversion",
                "change_conversion",
                "delete_conversion",
            ]
        )
    )
    client.force_login(user)

    assert client.get(f"{CHANGELIST}{conversion.pk}/change/").status_code == 200
    assert client.get(f"{CHANGELIST}add/").status_code == 403
    assert (
        client.post(f"{CHANGELIST}{conversion.pk}/change/", {"status": "failed"}).status_code == 403
    )
    assert client.get(f"{CHANGELIST}{conversion.pk}/delete/").status_code == 403
    conversion.refresh_from_db()
    assert conversion.status == Conversion.Status.SUCCEEDED


@pytest.mark.django_db
def test_superuser_may_delete_a_conversion(staff_client, conversion):
    response = staff_client.post(f"{CHANGELIST}{conversion.pk}/delete/", {"post": "yes"})

    assert response.status_code == 302
    assert not Conversion.objects.exists()


# -- ModelVersion ---------------------------------------------------------------------------


@pytest.fixture
def models_dir(tmp_path, settings, monkeypatch):
    """Two fake logo_type versions on disk, v1 active, and a registry that just reads files."""
    folder = tmp_path / "models"
    (folder / "logo_type").mkdir(parents=True)
    for version in ("v1", "v2"):
        (folder / "logo_type" / f"{version}.pt").write_bytes(f"weights {version}".encode())
        card = {"metrics": {"accuracy": 0.9 if version == "v1" else 0.95}}
        (folder / "logo_type" / f"{version}.json").write_text(json.dumps(card))
    (folder / "active.json").write_text(json.dumps({"logo_type": "v1"}))
    settings.SVGAI_MODELS_DIR = folder
    monkeypatch.setattr(registry, "MODELS", {"logo_type": ("classifier", lambda p: p.read_bytes())})
    # The registry keeps process state; this test serves its own folder, restored after.
    saved = registry.snapshot()
    registry.load_all(folder)
    # migrate mirrored the shipped weights into the table; this test has its own folder.
    ModelVersion.objects.all().delete()
    for version in ("v1", "v2"):
        ModelVersion.objects.create(
            name="logo_type",
            kind="classifier",
            version=version,
            file=f"logo_type/{version}.pt",
            sha256=registry.file_sha256(folder / "logo_type" / f"{version}.pt"),
            metrics={"accuracy": 0.9 if version == "v1" else 0.95},
            active=version == "v1",
        )
    yield folder
    registry.restore(saved)


def make_active(client, *versions: ModelVersion):
    return client.post(
        "/admin/aimodels/modelversion/",
        {"action": "make_active", "_selected_action": [v.pk for v in versions]},
        follow=True,
    )


@pytest.mark.django_db
def test_modelversion_changelist_shows_metrics(staff_client, models_dir):
    response = staff_client.get("/admin/aimodels/modelversion/")

    assert response.status_code == 200
    html = response.content.decode()
    assert "accuracy 0.950" in html
    v2 = ModelVersion.objects.get(version="v2")
    assert v2.sha256[:12] in html
    detail = staff_client.get(f"/admin/aimodels/modelversion/{v2.pk}/change/")
    assert detail.status_code == 200
    assert "&quot;accuracy&quot;: 0.95" in detail.content.decode()
    assert 'name="_save"' not in detail.content.decode()


@pytest.mark.django_db
def test_make_active_rewrites_active_json_and_flags(staff_client, models_dir):
    v2 = ModelVersion.objects.get(version="v2")

    response = make_active(staff_client, v2)

    assert response.status_code == 200
    assert json.loads((models_dir / "active.json").read_text()) == {"logo_type": "v2"}
    assert set(ModelVersion.objects.filter(active=True).values_list("version", flat=True)) == {"v2"}
    assert registry.get("logo_type") == b"weights v2"
    assert any("Active now: logo_type v2" in str(m) for m in get_messages(response.wsgi_request))


@pytest.mark.django_db
def test_make_active_refuses_two_versions_of_one_model(staff_client, models_dir):
    response = make_active(staff_client, *ModelVersion.objects.all())

    assert json.loads((models_dir / "active.json").read_text()) == {"logo_type": "v1"}
    assert set(ModelVersion.objects.filter(active=True).values_list("version", flat=True)) == {"v1"}
    messages = [str(m) for m in get_messages(response.wsgi_request)]
    assert any("one version per model" in m for m in messages)


@pytest.mark.django_db
def test_make_active_refuses_version_missing_on_disk(staff_client, models_dir):
    (models_dir / "logo_type" / "v2.pt").unlink()

    response = make_active(staff_client, ModelVersion.objects.get(version="v2"))

    assert json.loads((models_dir / "active.json").read_text()) == {"logo_type": "v1"}
    assert ModelVersion.objects.get(active=True).version == "v1"
    assert any("No weights file" in str(m) for m in get_messages(response.wsgi_request))


@pytest.mark.django_db
def test_admin_sidebar_names_batches_correctly(staff_client):
    html = staff_client.get("/admin/").content.decode()

    assert "Batches" in html
    assert "Batchs" not in html


@pytest.mark.django_db
def test_conversion_change_page_shows_decisions_first_and_folds_the_json(staff_client, conversion):
    ai = Conversion.objects.create(
        upload=conversion.upload,
        kind=Conversion.Kind.AI,
        status=Conversion.Status.SUCCEEDED,
        tier=2,
        requested_tier="auto",
        routing={"reason": "tier 1 is predicted below the target 0.95", "attempts": []},
        predicted_ssim=0.91,
        ssim=0.9312,
        prediction={"bytes": 4000.0, "time_ms": 900.0},
        svg_bytes=4321,
        total_ms=1234.5,
        features={"colors": 12.0},
    )

    html = staff_client.get(f"{CHANGELIST}{ai.pk}/change/").content.decode()

    decisions = html.index("Decisions")
    assert decisions < html.index("Input and SVG")
    for shown in (
        "2 (requested auto)",
        "tier 1 is predicted below the target 0.95",
        "0.9100 → 0.9312",
        "4,000 → 4,321",
        "900.0 ms → 1,234.5 ms",
    ):
        assert decisions < html.index(shown), shown
    # The raw records are folded away (Django renders a collapsed fieldset as <details>).
    folded = html[html.rindex("<details", 0, html.index("Records (JSON)")) :]
    assert "&quot;colors&quot;: 12.0" in folded
    assert "&quot;colors&quot;" not in html[: html.index("Records (JSON)")]


def test_make_admin_creates_the_superuser_from_the_environment(tmp_path):
    (tmp_path / "models").mkdir()
    env = {
        **os.environ,
        "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}",
        "SVGAI_MODELS_DIR": str(tmp_path / "models"),  # no model files: no torch to load
        "DJANGO_SUPERUSER_USERNAME": "boss",
        "DJANGO_SUPERUSER_PASSWORD": "a long enough password",
        "DJANGO_SUPERUSER_EMAIL": "boss@example.com",
    }
    root = Path(__file__).resolve().parents[2]

    # -o: the virtualenv and system packages count as installed (this test installs nothing).
    done = subprocess.run(
        ["make", "-o", ".venv/.installed", "-o", "system", "admin"],
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
        timeout=300,
    )

    assert done.returncode == 0, done.stdout + done.stderr
    with sqlite3.connect(tmp_path / "db.sqlite3") as db:
        rows = db.execute("SELECT username, email, is_superuser FROM auth_user").fetchall()
    assert rows == [("boss", "boss@example.com", 1)]


@pytest.mark.django_db
def test_conversion_change_page_shows_the_design_options(staff_client, logo_png):
    upload, _ = services.store_upload(data=logo_png, filename="logo.png")
    design = DesignOptions(palette=("#102030", "#ffffff"), shape_stacking="cutouts")
    conversion = services.convert_image(upload=upload, params=TraceParams(), design=design)

    response = staff_client.get(f"{CHANGELIST}{conversion.pk}/change/")

    html = response.content.decode()
    assert "Design options" in html
    assert "#102030, #ffffff" in html
    assert "cutouts" in html
    assert "&quot;colors_after&quot;" in html  # what the options cost, pretty-printed
