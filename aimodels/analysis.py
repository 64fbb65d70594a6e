"""What the models say about one image before any tracing: features, logo type, the plan.

The request path asks once per image and model versions (an LRU keyed by content hash and
versions); each model may fail on its own, and the conversion carries on with what is left.
"""

from __future__ import annotations

import logging
import threading
from collections import OrderedDict
from dataclasses import asdict, dataclass, field

import numpy as np

from aimodels import registry
from aimodels.ml.inputs import predictor_inputs
from vectorizer.features import extract_features
from vectorizer.protocols import QualityModel
from vectorizer.search import timed
from vectorizer.tiers import Plan, make_plan

logger = logging.getLogger(__name__)

# An image's content hash and the (name, version) of every model that analysed it.
CacheKey = tuple[str, tuple[tuple[str, str], ...]]


@dataclass
class Analysis:
    """What the models say about one image before any tracing."""

    features: dict[str, float] = field(default_factory=dict)
    vector: np.ndarray | None = None
    logo_type: str = ""
    confidence: float | None = None
    plan: Plan | None = None
    problems: tuple[str, ...] = ()


def analyse(
    rgba: np.ndarray, sha256: str, predictor: QualityModel, timings: dict[str, float]
) -> Analysis:
    """Return features, logo type and the predictor's plan, from the cache when possible.

    Each step may fail on its own; a failure is recorded in `problems` and the conversion
    carries on with what is left (in the end, with the fallback candidate).
    """
    key: CacheKey = (sha256, tuple(sorted(registry.versions().items())))
    cached = analysis_cache.get(key)
    if cached is not None:
        timings["analysis_cache"] = 1.0
        return cached
    height, width = rgba.shape[:2]
    analysis = Analysis()
    problems: list[str] = []
    try:
        with timed(timings, "features"):
            features = extract_features(rgba)
            analysis.vector = features.as_vector()
            analysis.features = {k: round(float(v), 5) for k, v in asdict(features).items()}
        classifier = registry.logo_classifier()
        if classifier is None:
            problems.append("logo-type classifier not loaded")
        else:
            with timed(timings, "classify"):
                analysis.logo_type, analysis.confidence = classifier.predict(features)
        analysis.vector = predictor_inputs(predictor, analysis.vector, classifier)
    except Exception as exc:  # one AI component failing must not fail the conversion
        logger.exception("AI analysis failed")
        problems.append(f"analysis failed: {exc}")
    if analysis.vector is not None:
        try:
            with timed(timings, "predict"):
                analysis.plan = make_plan(predictor, analysis.vector, height, width)
        except Exception as exc:
            logger.exception("prediction failed")
            problems.append(f"prediction failed: {exc}")
    analysis.problems = tuple(problems)
    if not problems:
        analysis_cache.put(key, analysis)
    return analysis


class AnalysisCache:
    """A small LRU of per-image analysis (features, logo type, plan) keyed by content hash.

    Converting the same upload again (another tier, another target) skips feature extraction
    and prediction; the key includes the model versions, so switching a model invalidates it.
    """

    def __init__(self, maxsize: int = 256) -> None:
        self.maxsize = maxsize
        self._items: OrderedDict[CacheKey, Analysis] = OrderedDict()
        self._lock = threading.Lock()
        self.hits = 0
        self.misses = 0

    def get(self, key: CacheKey) -> Analysis | None:
        """Return the cached value for `key`, or None."""
        with self._lock:
            if key in self._items:
                self._items.move_to_end(key)
                self.hits += 1
                return self._items[key]
            self.misses += 1
            return None

    def put(self, key: CacheKey, value: Analysis) -> None:
        """Remember a value, evicting the least recently used beyond maxsize."""
        with self._lock:
            self._items[key] = value
            self._items.move_to_end(key)
            while len(self._items) > self.maxsize:
                self._items.popitem(last=False)

    def clear(self) -> None:
        """Forget everything (benchmarks time each conversion from scratch)."""
        with self._lock:
            self._items.clear()

    def stats(self) -> dict[str, int]:
        """Return hits, misses, size and capacity."""
        with self._lock:
            return {
                "hits": self.hits,
                "misses": self.misses,
                "size": len(self._items),
                "maxsize": self.maxsize,
            }


analysis_cache = AnalysisCache()
