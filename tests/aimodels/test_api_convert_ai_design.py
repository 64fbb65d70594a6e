"""The design options on POST /api/convert-ai: every tier keeps to them, costs are reported."""

from __future__ import annotations

import pytest

from conversions.models import Conversion
from tests.conftest import drawn_colours


@pytest.mark.django_db
@pytest.mark.parametrize("tier", [1, 2, 3])
def test_convert_ai_max_colors_holds_on_every_tier(api_client, upload_real_logo, ai_models, tier):
    file_id = upload_real_logo("gradient")  # gradients: their stops count as colours
    payload = {"file_id": file_id, "tier": tier, "max_colors": 2}

    response = api_client.post("/api/convert-ai", payload, format="json")

    assert response.status_code == 200, response.content
    body = response.json()
    assert body["ai_metadata"]["tier_used"] == tier
    assert len(drawn_colours(body["svg"])) <= 2
    conversion = Conversion.objects.get(pk=body["conversion_id"])
    assert conversion.max_colors == 2
    assert conversion.design["colors_after"] <= 2
    before, after = conversion.design["ssim_before"], body["ssim"]
    if before - after > 0.005:  # merging colours cost fidelity: the answer says how much
        assert any(p.startswith("max_colors 2 cost SSIM") for p in body["ai_metadata"]["problems"])


@pytest.mark.django_db
def test_convert_ai_cutouts_and_palette_are_applied_and_recorded(
    api_client, upload_real_logo, ai_models
):
    file_id = upload_real_logo("complex")
    palette = ["#000000", "#ffffff", "#ffcc00", "#dd2e44"]
    payload = {"file_id": file_id, "tier": 1, "palette": palette, "shape_stacking": "cutouts"}

    response = api_client.post("/api/convert-ai", payload, format="json")

    assert response.status_code == 200, response.content
    body = response.json()
    assert drawn_colours(body["svg"]) <= set(palette)
    assert body["svg"].count('fill-rule="evenodd"') == body["path_count"]
    conversion = Conversion.objects.get(pk=body["conversion_id"])
    assert conversion.shape_stacking == "cutouts"
    assert conversion.palette == palette
    assert conversion.timings["design"] > 0
    assert body["design"]["ssim_before"] >= body["ssim"] - 0.05
