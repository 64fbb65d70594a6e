"""What an AI conversion decided and got, as the record and the API answer keep it.

`AIOutcome` is built once per conversion (conversions.services) and recorded once: the routing
JSON the API answers with, the settings that really made the SVG, and a sentence for every
degradation (a rescue trace, a `max_bytes` no trace met, a search cut short).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import NotRequired, TypedDict

from aimodels.analysis import Analysis
from conversions.models import Conversion
from vectorizer import routing
from vectorizer.candidates import CandidateDict
from vectorizer.pipeline import ConversionResult
from vectorizer.tiers import Attempt, TierResult


class AttemptJSON(TypedDict):
    candidate: CandidateDict
    refined: bool
    proxy: float
    ssim: float
    svg_bytes: int


class RoutingJSON(routing.RouteDict):
    """`AIOutcome.routing_json()`: the route, then what happened on it."""

    problems: NotRequired[list[str]]
    rescued: NotRequired[str]
    degraded: NotRequired[list[str]]
    attempts: NotRequired[list[AttemptJSON]]


@dataclass(frozen=True)
class AIOutcome:
    """What an AI conversion decided, recorded once: the analysis, the route, what was traced.

    `result` is None when nothing could be traced (the record then holds the decision and the
    error). The routing JSON the API answers with is built here and nowhere else.
    """

    analysis: Analysis
    route: routing.Route
    result: TierResult | None = None

    def routing_json(
        self, max_bytes: int | None = None, predicted_ssim: float | None = None
    ) -> RoutingJSON:
        """Return the route taken, the problems met, the rescue, what degraded the result
        (`degraded`: sentences the answer's `problems` shows) and every attempt.

        `predicted_ssim`: the prediction for the SVG returned, which the reason then quotes.
        """
        route = self.route.settled(predicted_ssim).as_dict()
        data: RoutingJSON = {
            "tier": route["tier"],
            "reason": route["reason"],
            "estimates": route["estimates"],
        }
        if self.analysis.problems:
            data["problems"] = list(self.analysis.problems)
        if self.result is not None:
            if self.result.rescued:
                data["rescued"] = self.result.rescued
            data["degraded"] = self.degradations(max_bytes)
            data["attempts"] = [
                {
                    "candidate": a.candidate.as_dict(),
                    "refined": a.refined,
                    "proxy": a.proxy,
                    "ssim": a.ssim,
                    "svg_bytes": a.svg_bytes,
                }
                for a in self.result.attempts
            ]
        return data

    def degradations(self, max_bytes: int | None) -> list[str]:
        """Return a sentence for everything that kept the result from the tier's full search.

        The rescue trace, a `max_bytes` no result met, and what the search says cut it short
        (`TierResult.shortfalls`: the budget, a fallback to a lower tier's result). A model
        step that failed is `problems` of the analysis, counted apart by /api/ai-health.
        """
        result = self.result
        if result is None or result.best is None:
            return []
        said = []
        if result.rescued:
            said.append(
                f"rescue trace returned: {result.rescued}; give a longer time_budget (or none) "
                "for the tier's own result"
            )
        if max_bytes is not None and result.best.svg_bytes > max_bytes:
            smallest = min((a.svg_bytes for a in result.attempts), default=result.best.svg_bytes)
            traced = (
                f" (the smallest trace had {smallest:,} B)"
                if smallest < result.best.svg_bytes
                else ""
            )
            said.append(
                f"max_bytes not met: {max_bytes:,} B asked, the SVG has "
                f"{result.best.svg_bytes:,} B{traced}; no trace fitted, so this is the best one"
            )
        said.extend(result.shortfalls)
        return said

    def recorded_on(self, conversion: Conversion) -> Conversion:
        """Return `conversion` holding what the models said, the route and the chosen candidate."""
        analysis = self.analysis
        conversion.features = analysis.features
        conversion.logo_type = analysis.logo_type
        conversion.logo_type_confidence = analysis.confidence
        conversion.fallback_used = analysis.plan is None or bool(analysis.problems)
        conversion.tier = self.route.tier
        best = self.result.best if self.result is not None else None
        if best is not None:
            self._record_settings(conversion, best)
        conversion.routing = self.routing_json(
            (conversion.request or {}).get("max_bytes"), conversion.predicted_ssim
        )
        return conversion

    def _record_settings(self, conversion: Conversion, best: Attempt) -> None:
        """Record the settings that really made the SVG, and what was predicted for it.

        `parameters` are the tracer's own: vtracer's, or potrace's (σ, tolerance, speckle
        area, in input px) for a layers trace, never vtracer settings it did not use.
        """
        height, width = conversion.upload.height, conversion.upload.width
        candidate = best.candidate
        prep, params = candidate.materialize(height, width)
        if candidate.tracer == "layers":
            conversion.parameters = {
                "tracer": "layers",
                **candidate.layer_params(height, width).as_dict(),
            }
        else:
            conversion.parameters = params.as_dict()
        chosen = {"candidate": candidate.as_dict(), "refined": best.refined}
        conversion.preparation = {**asdict(prep), **chosen}
        if self.analysis.plan is not None:
            prediction = self.analysis.plan.prediction_for(candidate)
            conversion.prediction = prediction.as_dict()
            conversion.predicted_ssim = prediction.ssim

    def traced(self, timings: dict[str, float]) -> ConversionResult:
        """Return the chosen trace as a conversion result; `trace` is the whole search's time."""
        best = self.result.best if self.result is not None else None
        assert best is not None  # the search raises when nothing was traced
        return ConversionResult(
            svg=best.svg,
            ssim=best.ssim,
            svg_bytes=best.svg_bytes,
            path_count=best.path_count,
            timings={
                **{f"best_{k}": v for k, v in best.timings.items()},
                "trace": timings["search"],
                "measure": best.timings.get("measure", 0.0),
            },
        )


def problems_of(conversion: Conversion) -> list[str]:
    """Return what went wrong or degraded the result, one sentence each, for the answer.

    A model step that failed (the record's `problems`), then everything that kept the SVG from
    the tier's full search (`degraded`: a rescue trace, a `max_bytes` no trace met, a search
    cut short): a degraded result says so where a client looks first, not only in the record.
    """
    routing = conversion.routing or {}
    problems = list(routing.get("problems", []))
    if "degraded" in routing:
        return problems + list(routing["degraded"])
    if routing.get("rescued"):  # recorded before `degraded` was
        problems.append(
            f"rescue trace returned: {routing['rescued']}; give a longer "
            "time_budget (or none) for the tier's own result"
        )
    return problems
