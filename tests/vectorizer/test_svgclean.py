"""clean_svg: safe to serve (allowlist), scalable (viewBox) and small (compact paths)."""

from __future__ import annotations

import pytest

from vectorizer.images import decode_image
from vectorizer.quality import ssim_rgb
from vectorizer.render import render_svg
from vectorizer.svgclean import SvgError, clean_svg
from vectorizer.tracing import trace_rgba

HOSTILE = """<?xml version="1.0" encoding="UTF-8"?>
<!-- Generator: somebody's exporter -->
<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink"
     width="10" height="10" onload="alert('root')">
  <script>alert('script')</script>
  <style>path { fill: url(http://evil.example/style) }</style>
  <path d="M0 0 L10 0 L10 10 Z" fill="red" onclick="alert('click')"
        style="fill: url(http://evil.example/inline)"/>
  <use href="http://evil.example/sprite.svg#x"/>
  <use xlink:href="javascript:alert('href')"/>
  <rect width="1" height="1" fill="url(#paint)" onmouseover="alert('hover')"/>
  <use href="#inside"/>
  <foreignObject><div>html</div></foreignObject>
  <image href="https://evil.example/pixel.png"/>
</svg>"""


@pytest.fixture(scope="module")
def cleaned_hostile() -> str:
    return clean_svg(HOSTILE)


def test_clean_svg_adds_view_box_from_width_and_height():
    svg = clean_svg('<svg xmlns="http://www.w3.org/2000/svg" width="512" height="256"/>')

    assert 'viewBox="0 0 512 256"' in svg
    assert 'width="512" height="256"' in svg


def test_clean_svg_keeps_existing_view_box():
    svg = clean_svg('<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 24 24" width="1em"/>')

    assert 'viewBox="0 0 24 24" width="24" height="24"' in svg


def test_clean_svg_drops_prolog_comment_and_generator(cleaned_hostile):
    assert not cleaned_hostile.startswith("<?xml")
    assert "<!--" not in cleaned_hostile
    assert "Generator" not in cleaned_hostile
    assert cleaned_hostile.startswith('<svg xmlns="http://www.w3.org/2000/svg" viewBox=')


@pytest.mark.parametrize(
    "forbidden",
    ["<script", "alert", "<style", "onload", "onclick", "onmouseover", "http:", "https:",
     "javascript:", "evil.example", "<foreignObject", "<image", "<div"],
)  # fmt: skip
def test_clean_svg_strips_active_and_external_content(cleaned_hostile, forbidden):
    body = cleaned_hostile.split(">", 1)[1]  # after <svg xmlns="http://www.w3.org/2000/svg" ...>

    assert forbidden.lower() not in body.lower()


def test_clean_svg_keeps_safe_content_and_local_references(cleaned_hostile):
    assert 'fill="red"' in cleaned_hostile
    assert 'fill="url(#paint)"' in cleaned_hostile
    assert 'href="#inside"' in cleaned_hostile


def test_clean_svg_refuses_entity_declarations():
    bomb = (
        '<?xml version="1.0"?><!DOCTYPE s [<!ENTITY a "aaaaaaaa"><!ENTITY b "&a;&a;&a;&a;">]>'
        '<svg xmlns="http://www.w3.org/2000/svg" width="1" height="1"><title>&b;</title></svg>'
    )

    with pytest.raises(SvgError):
        clean_svg(bomb)


@pytest.mark.parametrize(
    "markup",
    [
        "<svg",
        "<html xmlns='http://www.w3.org/1999/xhtml'/>",
        "<svg xmlns='http://www.w3.org/2000/svg'/>",
    ],
)
def test_clean_svg_refuses_malformed_or_sizeless_markup(markup):
    with pytest.raises(SvgError):
        clean_svg(markup)


def test_clean_svg_bakes_translate_into_relative_path():
    svg = clean_svg(
        '<svg xmlns="http://www.w3.org/2000/svg" width="24" height="24">'
        '<path transform="translate(3,4)" d="M1 1 L2 2 3 3 Z M5 5 L6 6 Z" fill="#000"/></svg>'
    )

    assert '<path d="m4 5 2 2zm4 4 1 1z" fill="#000"/>' in svg


def test_clean_svg_bakes_translate_into_every_command():
    svg = clean_svg(
        '<svg xmlns="http://www.w3.org/2000/svg" width="24" height="24">'
        '<path transform="translate(3,4)" d="M0 0H10V10A5 5 0 0 1 0 10Z"/></svg>'
    )

    assert '<path d="m3 4h10v10a5 5 0 0 1-10 0z"/>' in svg


def test_clean_svg_keeps_the_translate_of_a_path_that_refers_to_a_gradient():
    # A userSpaceOnUse gradient is laid out in the path's own space, translate included.
    svg = clean_svg(
        '<svg xmlns="http://www.w3.org/2000/svg" width="24" height="24"><g fill="url(#a)">'
        '<path transform="translate(3,4)" d="M0 0H10V10Z"/></g></svg>'
    )

    assert '<path transform="translate(3,4)" d="m0 0h10v10z"/>' in svg


def test_clean_svg_keeps_bad_path_data_and_its_transform():
    svg = clean_svg(
        '<svg xmlns="http://www.w3.org/2000/svg" width="24" height="24">'
        '<path transform="translate(3,4)" d="M0 0H10V10X"/></svg>'
    )

    assert '<path transform="translate(3,4)" d="M0 0H10V10X"/>' in svg


def test_clean_svg_writes_paths_at_its_precision_without_accumulating_error():
    # Steps of 0.333: rounding each delta would drift, deltas of rounded points do not.
    svg = clean_svg(
        '<svg xmlns="http://www.w3.org/2000/svg" width="24" height="24">'
        '<path d="M10.333 10 L10.666 11 L10.999 10"/></svg>',
        precision=2,
    )

    assert '<path d="m10.33 10 .34 1 .33-1"/>' in svg


def _raw_and_clean(png: bytes) -> tuple[str, str]:
    raw = trace_rgba(decode_image(png).rgba)
    return raw, clean_svg(raw)


def test_clean_svg_renders_like_raw_vtracer_output(real_logo):
    raw, clean = _raw_and_clean(real_logo[0])

    ssim = ssim_rgb(render_svg(raw, 512, 512), render_svg(clean, 512, 512))

    assert ssim >= 0.999


def test_clean_svg_is_smaller_than_raw_vtracer_output(real_logo):
    raw, clean = _raw_and_clean(real_logo[0])

    assert len(clean.encode()) < 0.8 * len(raw.encode())
    assert "translate(" not in clean


def test_clean_svg_keeps_colours_inherited_from_the_root():
    svg = clean_svg(
        '<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10" fill="#1B1F24" '
        'onload="alert(1)"><path d="M0 0H10V10H0Z"/></svg>'
    )

    assert render_svg(svg, 10, 10)[5, 5].tolist() == [27, 31, 36]
    assert "onload" not in svg


def test_clean_svg_renders_true_svg_unchanged(real_logo):
    true_svg = real_logo[1]

    clean = clean_svg(true_svg)

    assert ssim_rgb(render_svg(true_svg, 256, 256), render_svg(clean, 256, 256)) >= 0.999
