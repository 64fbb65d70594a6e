"""The sanitiser's `style` values: only plain presentation properties pass, never a loader."""

from __future__ import annotations

import pytest

from vectorizer.svgclean import clean_style, clean_svg

HOSTILE_STYLES = [
    r"fill: \75 rl(http://evil.example/x)",
    r"fill: u\72 l(http://evil.example/x)",
    "fill: u\\rl(http://evil.example/x)",
    "fill: image-set('http://evil.example/x' 1x)",
    "fill: -webkit-image-set(url(http://evil.example/x) 1x)",
    "fill: url(http://evil.example/x)",
    "fill: url('//evil.example/x')",
    "fill: cross-fade(url(#a), url(http://evil.example/x))",
    "fill: element(#x)",
    "background-image: url(#a)",
    "behavior: url(#a)",
    "fill: red; @import 'http://evil.example/x.css'",
    "fill: expression(alert(1))",
    "fill: red /* */ url(http://evil.example/x)",
]


@pytest.mark.parametrize("style", HOSTILE_STYLES)
def test_clean_style_lets_no_loader_through(style):
    cleaned = clean_style(style)

    assert "evil" not in cleaned
    assert "\\" not in cleaned
    assert "(" not in cleaned or cleaned.count("(") == cleaned.count("url(#")


@pytest.mark.parametrize("style", HOSTILE_STYLES)
def test_clean_svg_drops_hostile_style_and_attribute_values(style):
    escaped = style.replace("&", "&amp;").replace('"', "&quot;").replace("<", "&lt;")
    svg = (
        '<svg xmlns="http://www.w3.org/2000/svg" width="4" height="4">'
        f'<rect width="4" height="4" style="{escaped}" fill="{escaped}"/></svg>'
    )

    cleaned = clean_svg(svg)

    assert "evil" not in cleaned
    assert "\\" not in cleaned
    assert "image-set" not in cleaned


@pytest.mark.parametrize(
    ("style", "kept"),
    [
        ("fill:#ff0000", "fill:#ff0000"),
        ("fill: #FF0000 ; fill-opacity: .5", "fill:#FF0000;fill-opacity:.5"),
        ("stroke: rgb(1, 2, 3); stroke-width: 2px", "stroke:rgb(1, 2, 3);stroke-width:2px"),
        ("fill: url(#paint0)", "fill:url(#paint0)"),
        ("fill-rule: evenodd; font-family: x", "fill-rule:evenodd"),
    ],
)
def test_clean_style_keeps_plain_presentation(style, kept):
    assert clean_style(style) == kept
