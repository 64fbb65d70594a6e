"""output_format and output_size on POST /api/convert-ai, and the download of its result."""

from __future__ import annotations

import io
import shutil
import subprocess

import numpy as np
import pytest
from PIL import Image

from conversions.models import Conversion
from vectorizer.quality import ssim_rgb
from vectorizer.render import render_svg


@pytest.mark.django_db
@pytest.mark.skipif(shutil.which("pdftoppm") is None, reason="poppler-utils: make system")
def test_convert_ai_pdf_download_renders_like_its_svg(
    api_client, upload_real_logo, ai_models, tmp_path
):
    payload = {
        "file_id": upload_real_logo("gradient"),
        "tier": 2,
        "output_format": "pdf",
        "output_size": {"width": 4, "unit": "in", "dpi": 300},
    }

    response = api_client.post("/api/convert-ai", payload, format="json")

    assert response.status_code == 200, response.content
    body = response.json()
    conversion = Conversion.objects.get(pk=body["conversion_id"])
    assert conversion.output_format == "pdf"
    assert conversion.output_size == {"width": 4, "height": None, "unit": "in", "dpi": 300}
    assert 'width="4in" height="4in"' in body["svg"]
    assert body["download_url"] == f"/api/conversions/{conversion.pk}/download?format=pdf"
    pdf = api_client.get(body["download_url"])
    assert pdf["Content-Disposition"] == 'attachment; filename="lh-fastgpt-color.pdf"'
    (tmp_path / "logo.pdf").write_bytes(pdf.content)
    subprocess.run(
        ["pdftoppm", "-png", "-r", "256", "-singlefile", "logo.pdf", "page"],
        cwd=tmp_path,
        check=True,
        timeout=120,
    )
    page = np.asarray(Image.open(tmp_path / "page.png").convert("RGB"))
    assert page.shape[:2] == (1024, 1024)
    assert ssim_rgb(page, render_svg(body["svg"], 1024, 1024)) >= 0.99
    png = api_client.get(f"/api/conversions/{conversion.pk}/download?format=png")
    assert Image.open(io.BytesIO(png.content)).size == (1200, 1200)  # 4 in at 300 dpi


@pytest.mark.django_db
def test_convert_ai_refuses_a_bad_output_format(api_client, upload_file_id, ai_models):
    payload = {"file_id": upload_file_id, "output_format": "bmp"}

    response = api_client.post("/api/convert-ai", payload, format="json")

    assert response.status_code == 400
    assert "output_format" in response.json()["errors"]
    assert not Conversion.objects.exists()
