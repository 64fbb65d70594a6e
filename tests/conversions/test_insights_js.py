"""The page's AI insights (conversions/static/conversions/insights.js), its DOM-free part run in
Node: the settings that really made the SVG, no uncalibrated promise, every degradation."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

INSIGHTS = Path(__file__).resolve().parents[2] / "conversions/static/conversions/insights.js"
NODE = shutil.which("node")

pytestmark = pytest.mark.skipif(NODE is None, reason="Node.js is not installed")

VTRACER_ONLY = {"layer_difference", "color_precision", "corner_threshold", "filter_speckle"}
LINEAR = '<svg><defs><linearGradient id="g0"><stop offset="0"/></linearGradient></defs></svg>'


def call(function: str, *args: object) -> object:
    """Return what insights.js's exported `function` returns for `args` (JSON in and out)."""
    script = (
        f"import * as insights from {json.dumps(INSIGHTS.as_uri())};\n"
        f"const args = JSON.parse(process.argv[1]);\n"
        f"process.stdout.write(JSON.stringify(insights.{function}(...args)));\n"
    )
    done = subprocess.run(
        [str(NODE), "--input-type=module", "-e", script, json.dumps(args)],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return json.loads(done.stdout)


def layers_meta() -> dict:
    return {
        "tier_used": 2,
        "logo_type": "gradient",
        "preparation": {
            "scale": 2,
            "palette_size": -1,
            "max_colors": 16,
            "refined": True,
            "candidate": {"tracer": "layers", "sigma": 0.65, "tolerance": 0.5, "gradients": True},
        },
        "parameters": {
            "tracer": "layers",
            "sigma": 0.65,
            "alphamax": 0.8,
            "opttolerance": 0.25,
            "turdsize": 4.0,
        },
        "routing": {"reason": "tier 2 requested", "estimates": {}},
        "problems": [],
    }


def test_a_potrace_trace_lists_its_own_settings_and_no_vtracer_ones():
    rows = dict(call("settingsRows", layers_meta(), LINEAR))

    assert rows["tracer"] == "potrace per colour layer"
    assert rows["blur σ"] == "0.65 input px"
    assert rows["curve tolerance"] == "0.5 traced px"
    assert rows["palette"] == "auto, at most 16 colours"
    assert rows["gradients"] == "1 gradient fill"
    assert rows["outlines"] == "refined against the input"
    assert "cannot reproduce" in rows["manual mode"]
    assert not VTRACER_ONLY & {name.replace(" ", "_") for name in rows}


def test_a_vtracer_trace_lists_vtracer_settings_and_says_how_close_manual_mode_comes():
    meta = {
        "preparation": {"scale": 1, "palette_size": 0, "refined": False,
                        "candidate": {"tracer": "vtracer", "gradients": False}},
        "parameters": {"filter_speckle": 4, "corner_threshold": 60, "layer_difference": 1},
    }  # fmt: skip

    rows = dict(call("settingsRows", meta, "<svg/>"))

    assert rows["tracer"] == "vtracer"
    assert rows["filter_speckle"] == 4
    assert rows["layer_difference"] == 1
    assert rows["gradients"] == "off"
    assert rows["manual mode"] == "these vtracer settings reproduce this trace"
    meta["preparation"]["scale"] = 4
    assert "come close" in dict(call("settingsRows", meta, "<svg/>"))["manual mode"]


def test_bands_of_flat_colour_are_never_said_under_an_svg_holding_a_gradient():
    with_gradient = call("suggestionsFor", layers_meta(), {"svg": LINEAR, "file_size": 900}, {})
    flat = call("suggestionsFor", layers_meta(), {"svg": "<svg/>", "file_size": 900}, {})

    assert not [s for s in with_gradient if "bands" in s]
    assert [s for s in flat if "bands of flat colour" in s]
    assert dict(call("settingsRows", layers_meta(), LINEAR))["gradients"] == "1 gradient fill"


def test_no_gain_of_a_higher_tier_is_promised():
    meta = {
        **layers_meta(),
        "tier_used": 1,
        "logo_type": "simple",
        "routing": {
            "reason": "tier 1 requested",
            "estimates": {
                "1": {"quality": 0.98, "time_s": 0.4},
                "2": {"quality": 0.99, "time_s": 1.2},
                "3": {"quality": 0.994, "time_s": 4.0},
            },
        },
    }

    advice = call("suggestionsFor", meta, {"svg": "<svg/>", "file_size": 900}, {})

    assert not [s for s in advice if "gain" in s]


def test_the_answers_problems_are_listed_once_each():
    meta = {**layers_meta(), "logo_type": "simple", "problems": ["max_bytes not met: 256 B asked"]}

    advice = call("suggestionsFor", meta, {"svg": "<svg/>", "file_size": 900}, {"max_bytes": 256})

    assert [s for s in advice if "256" in s] == ["max_bytes not met: 256 B asked"]


def test_a_reopened_record_shows_every_degradation_it_recorded():
    routing = {
        "problems": ["classification failed"],
        "degraded": [
            "rescue trace returned: stopped",
            "tier 3's search was cut short by the budget",
        ],
        "rescued": "stopped",
    }

    assert call("problemsOfRecord", routing) == ["classification failed", *routing["degraded"]]
    older = {"rescued": "every chosen trace was stopped by the budget"}  # before `degraded`
    assert call("problemsOfRecord", older)[0].startswith("rescue trace returned: every chosen")
    meta = call("metadataFromRecord", {"routing": routing, "tier": 3})
    assert meta["problems"] == ["classification failed", *routing["degraded"]]
    assert meta["routing"]["rescued"] == "stopped"
