"""How every item of a batch is converted, as the request asked and the batch stores it."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, field

from conversions.design import options_from
from conversions.models import Batch, Conversion
from vectorizer.designer import NO_DESIGN, DesignOptions
from vectorizer.exports import OutputSize
from vectorizer.routing import DEFAULT_TARGET_QUALITY
from vectorizer.tracing import TraceParams

# What a batch's ZIP holds for each item when the request names no format.
DEFAULT_FORMATS = ("svg",)


@dataclass(frozen=True)
class BatchOptions:
    """How every item of a batch is converted: AI options, or explicit vtracer parameters.

    `formats` are the files each item gets in the download (the SVG is the source of truth, the
    others are derived from it); `output_size` is written into every item's SVG.
    """

    kind: str = Conversion.Kind.AI
    tier: int | str = "auto"
    target_quality: float = DEFAULT_TARGET_QUALITY
    time_budget: float | None = None
    max_bytes: int | None = None
    params: Mapping[str, object] = field(default_factory=dict)  # legacy only
    design: DesignOptions = NO_DESIGN  # either kind
    formats: tuple[str, ...] = DEFAULT_FORMATS
    output_size: OutputSize | None = None

    def as_dict(self) -> dict[str, object]:
        """Return the options as stored on the batch (`design` only when asked for)."""
        output: dict[str, object] = {
            "formats": list(self.formats),
            "output_size": self.output_size.as_dict() if self.output_size else None,
        }
        if not self.design.is_default:
            output["design"] = self.design.as_dict()
        if self.kind == Conversion.Kind.LEGACY:
            return {"params": TraceParams.from_dict(self.params).as_dict(), **output}
        values = asdict(self)
        for name in ("kind", "params", "design", "formats", "output_size"):
            del values[name]
        return {**values, **output}

    @classmethod
    def from_batch(cls, batch: Batch) -> BatchOptions:
        """Return the options a stored batch was created with (a batch from before formats: SVG)."""
        stored = dict(batch.options)
        formats = tuple(stored.pop("formats", None) or DEFAULT_FORMATS)
        size = stored.pop("output_size", None)
        output_size = OutputSize(**size) if size else None
        design = options_from(stored.pop("design", {}))
        if batch.kind == Conversion.Kind.LEGACY:
            params = stored.get("params", {})
            return cls(
                kind=Conversion.Kind.LEGACY,
                params=params,
                design=design,
                formats=formats,
                output_size=output_size,
            )
        return cls(
            kind=Conversion.Kind.AI,
            **stored,
            design=design,
            formats=formats,
            output_size=output_size,
        )
