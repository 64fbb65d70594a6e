"""How every item of a batch is converted, as the request asked and the batch stores it."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from conversions.design import options_from
from conversions.models import Batch, Conversion
from vectorizer.designer import NO_DESIGN, DesignOptions
from vectorizer.routing import DEFAULT_TARGET_QUALITY
from vectorizer.tracing import TraceParams


@dataclass(frozen=True)
class BatchOptions:
    """How every item of a batch is converted: AI options, or explicit vtracer parameters."""

    kind: str = Conversion.Kind.AI
    tier: int | str = "auto"
    target_quality: float = DEFAULT_TARGET_QUALITY
    time_budget: float | None = None
    max_bytes: int | None = None
    params: dict[str, Any] = field(default_factory=dict)  # legacy only
    design: DesignOptions = NO_DESIGN  # either kind

    def as_dict(self) -> dict[str, Any]:
        """Return the options as stored on the batch (`design` only when asked for)."""
        design = {} if self.design.is_default else {"design": self.design.as_dict()}
        if self.kind == Conversion.Kind.LEGACY:
            return {"params": TraceParams.from_dict(self.params).as_dict(), **design}
        values = asdict(self)
        del values["kind"], values["params"], values["design"]
        return {**values, **design}

    @classmethod
    def from_batch(cls, batch: Batch) -> BatchOptions:
        """Return the options a stored batch was created with."""
        stored = dict(batch.options)
        design = options_from(stored.pop("design", {}))
        if batch.kind == Conversion.Kind.LEGACY:
            params = stored.get("params", {})
            return cls(kind=Conversion.Kind.LEGACY, params=params, design=design)
        return cls(kind=Conversion.Kind.AI, design=design, **stored)
