import numpy as np
import pytest
from PIL import Image, ImageDraw

from vectorizer.dataset import load_rgba, make_variant
from vectorizer.features import FEATURE_NAMES, extract_features


@pytest.fixture(autouse=True)
def _media_root():
    """Shadow the Django-only autouse fixture of tests/conftest.py: these tests need no Django."""


def _draw(size=(512, 512), background=(0, 0, 0, 0)) -> tuple[Image.Image, ImageDraw.ImageDraw]:
    image = Image.new("RGBA", size, background)
    return image, ImageDraw.Draw(image)


def _two_colour_logo() -> np.ndarray:
    image, draw = _draw()
    draw.rectangle((60, 60, 449, 449), fill=(220, 30, 40, 255))
    draw.rectangle((200, 200, 309, 309), fill=(20, 40, 200, 255))
    return np.asarray(image)


def _gradient_logo() -> np.ndarray:
    ramp = np.linspace(0, 255, 512, dtype=np.float32)
    rgba = np.zeros((512, 512, 4), dtype=np.uint8)
    rgba[..., 0] = ramp[None, :]
    rgba[..., 1] = 80
    rgba[..., 2] = 255 - ramp[:, None]
    rgba[60:450, 60:450, 3] = 255
    return rgba


def _wordmark() -> np.ndarray:
    image, draw = _draw((512, 128))
    for i in range(10):
        x = 20 + i * 48
        draw.rectangle((x, 40, x + 30, 90), fill=(10, 10, 10, 255))
        draw.rectangle((x + 10, 55, x + 20, 75), fill=(0, 0, 0, 0))
    return np.asarray(image)


@pytest.mark.parametrize(
    "rgba",
    [
        pytest.param(np.zeros((1, 1, 4), np.uint8), id="1x1"),
        pytest.param(np.zeros((64, 64, 4), np.uint8), id="fully-transparent"),
        pytest.param(np.full((1, 5000, 4), 255, np.uint8), id="1x5000"),
        pytest.param(np.full((5000, 1, 4), 128, np.uint8), id="5000x1"),
        pytest.param(np.full((300, 200, 4), (90, 90, 90, 255), np.uint8), id="single-colour"),
        pytest.param(
            np.dstack(
                [np.tile(np.arange(256, dtype=np.uint8), (64, 1))] * 3
                + [np.full((64, 256), 255, np.uint8)]
            ),
            id="grayscale-ramp",
        ),
        pytest.param(np.random.default_rng(0).integers(0, 256, (97, 53, 4), np.uint8), id="noise"),
    ],
)
def test_extract_features_survives_edge_cases(rgba):
    features = extract_features(rgba)

    vector = features.as_vector()
    assert vector.dtype == np.float32
    assert vector.shape == (len(FEATURE_NAMES),)
    assert np.isfinite(vector).all()


def test_extract_features_reports_size_and_alpha():
    features = extract_features(_two_colour_logo())

    assert features.width == 512
    assert features.height == 512
    assert features.aspect == 1
    assert features.has_alpha == 1
    assert 0.3 < features.alpha_coverage < 0.7
    assert features.palette_size == 2
    assert features.top2_share > 0.95


def test_extract_features_counts_few_colours_in_a_jpeg_upload():
    rgba = load_rgba(make_variant(_two_colour_logo(), "jpeg")[0])

    features = extract_features(rgba)

    assert features.has_alpha == 0
    assert features.palette_size_merged <= 3
    assert 0.3 < features.foreground_share < 0.7


def test_extract_features_sees_a_gradient_fill():
    flat = extract_features(_two_colour_logo())
    ramp = extract_features(_gradient_logo())

    assert ramp.log_distinct_colors > flat.log_distinct_colors
    assert ramp.ramp_share > flat.ramp_share
    assert ramp.rare_color_share > flat.rare_color_share


def test_extract_features_sees_a_line_of_glyphs():
    features = extract_features(_wordmark())

    assert features.aspect == 4
    assert features.row_glyphs > extract_features(_two_colour_logo()).row_glyphs
    assert features.hole_share > 0


def test_extract_features_accepts_rgb_arrays():
    rgb = np.asarray(Image.fromarray(_two_colour_logo()).convert("RGB"))

    rgba = np.concatenate([rgb, np.full((*rgb.shape[:2], 1), 255, np.uint8)], axis=2)

    # An RGB array is an opaque image: the same features as its RGBA twin.
    assert extract_features(rgb) == extract_features(rgba)


def test_extract_features_rejects_empty_arrays():
    with pytest.raises(ValueError, match="RGBA"):
        extract_features(np.zeros((0, 10, 4), np.uint8))
