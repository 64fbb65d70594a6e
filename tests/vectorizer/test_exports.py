"""Each export opens in a real consumer: poppler and ghostscript, ezdxf, a PNG decoder.

PDF and EPS are rendered back and compared with resvg's render of the SVG itself (SSIM on
white, same size); the DXF is read back with ezdxf; the PNG is decoded with Pillow.
"""

from __future__ import annotations

import io
import re
import shutil
import subprocess
from pathlib import Path

import ezdxf
import numpy as np
import pytest
from ezdxf import bbox
from PIL import Image

from tests.conftest import DATA, REAL_LOGOS
from vectorizer import exports
from vectorizer.quality import ssim_rgb
from vectorizer.render import render_svg
from vectorizer.svgclean import clean_svg

# 4 in at 256 dpi: a 1024 px render, where one antialiased edge pixel weighs little.
PAGE_IN, RENDER_DPI = 4, 256
GRADIENT, SIMPLE, COMPLEX = REAL_LOGOS["gradient"], REAL_LOGOS["simple"], REAL_LOGOS["complex"]


def stored_svg(name: str) -> str:
    """Return a test logo's SVG as svgai stores SVG: sanitised by clean_svg."""
    return clean_svg((DATA / f"{name}.svg").read_text())


def read_png(path: Path | bytes) -> np.ndarray:
    source = io.BytesIO(path) if isinstance(path, bytes) else path
    return np.asarray(Image.open(source).convert("RGB"))


def test_gradient_logo_keeps_its_gradient():
    assert "<linearGradient" in stored_svg(GRADIENT)  # the premise of the SSIM tests below


@pytest.mark.skipif(shutil.which("pdftoppm") is None, reason="poppler-utils: make system")
@pytest.mark.parametrize("name", [GRADIENT, SIMPLE, COMPLEX])
def test_pdf_renders_like_the_svg(name, tmp_path):
    svg = stored_svg(name)
    pdf = exports.export(svg, "pdf", exports.OutputSize(width=PAGE_IN, unit="in"))
    (tmp_path / "logo.pdf").write_bytes(pdf)

    subprocess.run(
        ["pdftoppm", "-png", "-r", str(RENDER_DPI), "-singlefile", "logo.pdf", "page"],
        cwd=tmp_path,
        check=True,
        timeout=120,
    )

    page = read_png(tmp_path / "page.png")
    assert page.shape[:2] == (PAGE_IN * RENDER_DPI, PAGE_IN * RENDER_DPI)
    assert ssim_rgb(page, render_svg(svg, page.shape[1], page.shape[0])) >= 0.99


@pytest.mark.skipif(shutil.which("gs") is None, reason="ghostscript: make system")
@pytest.mark.parametrize("name", [GRADIENT, SIMPLE, COMPLEX])
def test_eps_renders_like_the_svg(name, tmp_path):
    svg = stored_svg(name)
    eps = exports.export(svg, "eps", exports.OutputSize(width=PAGE_IN, unit="in"))
    (tmp_path / "logo.eps").write_bytes(eps)

    subprocess.run(
        ["gs", "-q", "-dSAFER", "-dBATCH", "-dNOPAUSE", "-dEPSCrop", "-sDEVICE=png16m",
         f"-r{RENDER_DPI}", "-dGraphicsAlphaBits=4", "-sOutputFile=page.png", "logo.eps"],
        cwd=tmp_path,
        check=True,
        timeout=120,
    )  # fmt: skip

    page = read_png(tmp_path / "page.png")
    # The bounding box is the whole page, not the ink: a designer places margins too.
    assert page.shape[:2] == (PAGE_IN * RENDER_DPI, PAGE_IN * RENDER_DPI)
    assert ssim_rgb(page, render_svg(svg, page.shape[1], page.shape[0])) >= 0.99


def test_pdf_and_eps_keep_gradients_as_vector_shading():
    svg = stored_svg(GRADIENT)

    eps = exports.export(svg, "eps")
    pdf = exports.export(svg, "pdf")

    assert b"/ShadingType 2" in eps  # an axial shading, not a bitmap
    assert b"/Image" not in eps
    assert b"/ShadingType 2" in pdf or b"/ShadingType" in pdf


def test_pdf_page_has_the_requested_physical_size():
    pdf = exports.export(stored_svg(SIMPLE), "pdf", exports.OutputSize(width=10, unit="cm"))

    box = re.search(rb"/MediaBox \[ ?([\d.]+) ([\d.]+) ([\d.]+) ([\d.]+)", pdf)
    assert box is not None
    width_pt, height_pt = float(box.group(3)), float(box.group(4))
    assert width_pt == pytest.approx(10 / 2.54 * 72, abs=0.5)
    assert height_pt == pytest.approx(width_pt, abs=0.5)  # a square viewBox stays square


def subpaths(svg: str) -> int:
    """Count the contours of the filled paths: one M or m per subpath in their data."""
    data = re.findall(r'<path\b[^>]*?\sd="([^"]*)"', svg)
    return sum(len(re.findall(r"[Mm]", d)) for d in data)


def fill_colours(svg: str) -> set[str]:
    """Return the fill colours as rrggbb (#269 is 226699)."""
    found = re.findall(r'fill="#([0-9a-fA-F]{6}|[0-9a-fA-F]{3})"', svg)
    return {(c if len(c) == 6 else "".join(d * 2 for d in c)).lower() for c in found}


@pytest.mark.parametrize("name", [SIMPLE, COMPLEX])
def test_dxf_has_one_closed_polyline_per_contour_on_one_layer_per_colour(name):
    svg = stored_svg(name)

    doc = ezdxf.read(io.StringIO(exports.export(svg, "dxf").decode()))

    entities = list(doc.modelspace())
    assert len(entities) == subpaths(svg) > 1
    assert {e.dxftype() for e in entities} == {"LWPOLYLINE"}
    assert all(e.closed for e in entities)
    used = {e.dxf.layer for e in entities}
    assert used == {f"color-{c}" for c in fill_colours(svg)}
    for layer in used:  # drawn in its own colour, for a person looking at it in CAD
        assert doc.layers.get(layer).rgb == tuple(int(layer[6 + i : 8 + i], 16) for i in (0, 2, 4))


def test_dxf_is_in_millimetres_at_the_requested_size():
    svg = stored_svg(SIMPLE)  # a 24×24 viewBox whose badge spans its whole width

    doc = ezdxf.read(
        io.StringIO(exports.export(svg, "dxf", exports.OutputSize(width=10, unit="cm")).decode())
    )

    extents = bbox.extents(doc.modelspace())
    assert doc.header["$INSUNITS"] == 4
    assert extents.extmin.x == pytest.approx(0, abs=0.1)
    assert extents.extmax.x == pytest.approx(100, abs=0.1)
    assert 0 < extents.extmin.y < extents.extmax.y < 100  # y up, inside the page


def test_dxf_follows_transforms_and_inherited_fill():
    svg = (
        '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 100 100" width="100" fill="#112233">'
        '<g transform="translate(10 20)"><path d="M0 0H10V10H0Z"/></g>'
        '<path fill="none" d="M0 0H5V5Z"/></svg>'
    )

    doc = ezdxf.read(io.StringIO(exports.to_dxf(svg, dpi=25.4).decode()))  # 1 px = 1 mm

    (square,) = doc.modelspace()
    assert square.dxf.layer == "color-112233"
    points = sorted((round(x, 6), round(y, 6)) for x, y in square.get_points("xy"))
    # x + 10; y flipped (100 - (y + 20)).
    assert points == [(10, 70), (10, 80), (20, 70), (20, 80)]


def test_png_has_the_requested_width_and_keeps_transparency():
    png = exports.export(stored_svg(SIMPLE), "png", exports.OutputSize(width=300))

    image = Image.open(io.BytesIO(png))
    assert image.size == (300, 300)
    assert image.mode == "RGBA"
    assert image.getpixel((0, 0))[3] == 0  # the corner outside the badge stays transparent


def test_png_of_a_physical_size_uses_the_dpi():
    png = exports.export(stored_svg(SIMPLE), "png", exports.OutputSize(width=2, unit="in", dpi=150))

    assert Image.open(io.BytesIO(png)).size == (300, 300)


def test_png_over_the_pixel_limit_is_refused():
    with pytest.raises(exports.ExportError, match="8192 px"):
        exports.export(stored_svg(SIMPLE), "png", exports.OutputSize(width=8193))


def test_sized_svg_has_units_and_the_same_view_box():
    svg = stored_svg(GRADIENT)

    out = exports.export(svg, "svg", exports.OutputSize(width=10, unit="cm")).decode()

    root = re.match(r"<svg[^>]*>", out)
    assert root is not None
    assert 'width="10cm"' in root.group(0)
    assert 'height="10cm"' in root.group(0)
    assert exports.view_box(out) == exports.view_box(svg)
    assert out.count("width=") == svg.count("width=")  # replaced, not added


def test_sized_svg_keeps_the_aspect_from_the_view_box():
    svg = '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 200 100" width="200" height="100"/>'

    out = exports.sized(svg, exports.OutputSize(height=30, unit="mm"))

    assert 'width="60mm" height="30mm"' in out


@pytest.mark.parametrize(
    ("size", "message"),
    [
        (exports.OutputSize(width=501, unit="cm"), "5 m"),
        (exports.OutputSize(width=0, unit="cm"), "positive"),
        (exports.OutputSize(unit="cm"), "width or a height"),
        (exports.OutputSize(width=1, unit="ft"), "unit must be"),
        (exports.OutputSize(width=1, dpi=5), "dpi must be"),
        (exports.OutputSize(width=1, height=2e6, unit="px", dpi=96), "5 m"),
    ],
)
def test_sizes_out_of_range_are_refused(size, message):
    with pytest.raises(exports.ExportError, match=message):
        exports.sized(stored_svg(SIMPLE), size)


def test_derived_side_over_the_limit_is_refused():
    # 4 m wide is fine, but a 1:2 drawing would then be 8 m high.
    with pytest.raises(exports.ExportError, match="the height is 800cm"):
        exports.resolve_box(100, 200, exports.OutputSize(width=400, unit="cm"))


def test_unknown_format_is_refused():
    with pytest.raises(exports.ExportError, match="format must be one of"):
        exports.export(stored_svg(SIMPLE), "tiff")


def test_render_svg_draws_an_svg_sized_in_physical_units():
    svg = exports.sized(stored_svg(SIMPLE), exports.OutputSize(width=4, unit="in"))

    # resvg itself refuses width="4in"; the measurements must still render the stored SVG.
    assert np.array_equal(render_svg(svg, 96, 96), render_svg(stored_svg(SIMPLE), 96, 96))
