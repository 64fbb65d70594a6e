"""The quality predictor: from image features and a candidate, predict what tracing will give.

One small torch MLP predicts four things at once for (image, candidate) pairs: the measured
SSIM (what the API reports), fidelity (SSIM against the true vector at 1024 px, what we really
want), the SVG's bytes and the time it takes. Qualities are learned as log(1 - q): errors span
0.001–0.2, and in log space a 2× error change weighs the same for clean and hard logos.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from torch import nn

from vectorizer.protocols import Predictions

TARGETS = ("ssim", "fidelity", "bytes", "time_ms")
_EPS = 1e-4
# Standardised inputs are clipped here: the training set spans |z| <= 9.4 and a 4096 px upload
# about 30, but an unbounded feature once sent one to ~9700 and exp() of the output to inf.
Z_MAX = 40.0
# Predictions are kept to what a conversion can cost: 1 byte to 1 GB, 1 ms to ~3 hours.
_LOG_BYTES = (0.0, float(np.log(1e9)))
_LOG_TIME_MS = (0.0, float(np.log(1e7)))


def encode_targets(
    ssim: np.ndarray, fidelity: np.ndarray, svg_bytes: np.ndarray, time_ms: np.ndarray
) -> np.ndarray:
    """Return the (N, 4) training targets in the net's space."""
    return np.stack(
        [
            np.log(np.clip(1.0 - ssim, 0, 1) + _EPS),
            np.log(np.clip(1.0 - fidelity, 0, 1) + _EPS),
            np.log(np.maximum(svg_bytes, 1.0)),
            np.log(np.maximum(time_ms, 1.0)),
        ],
        axis=1,
    ).astype(np.float32)


def decode_targets(y: np.ndarray) -> dict[str, np.ndarray]:
    """Return finite predictions in natural units from the net's (N, 4) outputs."""
    quality = (float(np.log(_EPS)), float(np.log(1.0 + _EPS)))
    y = np.nan_to_num(np.asarray(y), nan=0.0)
    return {
        "ssim": np.clip(1.0 - (np.exp(np.clip(y[:, 0], *quality)) - _EPS), 0.0, 1.0),
        "fidelity": np.clip(1.0 - (np.exp(np.clip(y[:, 1], *quality)) - _EPS), 0.0, 1.0),
        "bytes": np.exp(np.clip(y[:, 2], *_LOG_BYTES)),
        "time_ms": np.exp(np.clip(y[:, 3], *_LOG_TIME_MS)),
    }


class QualityNet(nn.Module):
    def __init__(self, n_inputs: int, hidden: int = 128) -> None:
        super().__init__()
        self.hidden = hidden
        self.layers = nn.Sequential(
            nn.Linear(n_inputs, hidden),
            nn.GELU(),
            nn.Linear(hidden, hidden),
            nn.GELU(),
            nn.Linear(hidden, len(TARGETS)),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Return standardised target predictions for a batch of standardised inputs."""
        predicted: torch.Tensor = self.layers(x)
        return predicted


@dataclass
class QualityPredictor:
    net: QualityNet
    x_mean: np.ndarray
    x_std: np.ndarray
    y_mean: np.ndarray
    y_std: np.ndarray
    feature_names: tuple[str, ...] = ()
    metrics: dict[str, object] = field(default_factory=dict)

    def predict(self, image_vector: np.ndarray, candidate_matrix: np.ndarray) -> Predictions:
        """Return predicted ssim, fidelity, bytes and time_ms per candidate row for one image."""
        rows = np.hstack(
            [np.repeat(image_vector[None, :], len(candidate_matrix), axis=0), candidate_matrix]
        )
        return Predictions(**self.predict_rows(rows))

    def predict_rows(self, rows: np.ndarray) -> dict[str, np.ndarray]:
        """Return finite predictions for rows of [image features, candidate encoding]."""
        rows = np.where(np.isfinite(rows), rows, self.x_mean)  # an unknown value: the mean
        z = np.clip((rows - self.x_mean) / _safe_std(self.x_std), -Z_MAX, Z_MAX)
        x = torch.from_numpy(z.astype(np.float32))
        self.net.eval()
        with torch.no_grad():
            y = self.net(x).numpy() * self.y_std + self.y_mean
        return decode_targets(y)

    def save(self, path: Path) -> None:
        """Write the weights and normalisation as a plain dict (loadable with weights_only)."""
        torch.save(
            {
                "state_dict": self.net.state_dict(),
                "n_inputs": int(self.x_mean.shape[0]),
                "hidden": self.net.hidden,
                "x_mean": torch.from_numpy(self.x_mean.astype(np.float32)),
                "x_std": torch.from_numpy(self.x_std.astype(np.float32)),
                "y_mean": torch.from_numpy(self.y_mean.astype(np.float32)),
                "y_std": torch.from_numpy(self.y_std.astype(np.float32)),
                "feature_names": list(self.feature_names),
                "metrics": self.metrics,
            },
            path,
        )

    @classmethod
    def load(cls, path: Path) -> QualityPredictor:
        """Return the predictor saved at `path`."""
        blob = torch.load(path, map_location="cpu", weights_only=True)
        net = QualityNet(blob["n_inputs"], blob["hidden"])
        net.load_state_dict(blob["state_dict"])
        net.eval()
        return cls(
            net=net,
            x_mean=blob["x_mean"].numpy(),
            x_std=blob["x_std"].numpy(),
            y_mean=blob["y_mean"].numpy(),
            y_std=blob["y_std"].numpy(),
            feature_names=tuple(blob["feature_names"]),
            metrics=dict(blob["metrics"]),
        )


def train_quality_predictor(
    x: np.ndarray,
    y: np.ndarray,
    *,
    seed: int = 0,
    epochs: int = 120,
    # 128 units overfit the ~1,000-row training set: held-out regret 0.0014 against 0.0009.
    hidden: int = 64,
    feature_names: tuple[str, ...] = (),
) -> QualityPredictor:
    """Return a predictor fitted to inputs `x` (N, F) and encoded targets `y` (N, 4)."""
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    x_mean, x_std = x.mean(axis=0), _safe_std(x.std(axis=0))
    y_mean, y_std = y.mean(axis=0), y.std(axis=0) + 1e-6
    xs = torch.from_numpy(((x - x_mean) / x_std).astype(np.float32))
    ys = torch.from_numpy(((y - y_mean) / y_std).astype(np.float32))
    net = QualityNet(x.shape[1], hidden)
    optimiser = torch.optim.AdamW(net.parameters(), lr=2e-3, weight_decay=1e-3)
    schedule = torch.optim.lr_scheduler.CosineAnnealingLR(optimiser, T_max=epochs)
    batch = 256
    for _ in range(epochs):
        net.train()
        order = torch.from_numpy(rng.permutation(len(xs)))
        for start in range(0, len(xs), batch):
            index = order[start : start + batch]
            optimiser.zero_grad()
            loss = nn.functional.smooth_l1_loss(net(xs[index]), ys[index], beta=0.5)
            loss.backward()
            optimiser.step()
        schedule.step()
    net.eval()
    return QualityPredictor(net, x_mean, x_std, y_mean, y_std, feature_names=feature_names)


def _safe_std(std: np.ndarray) -> np.ndarray:
    # A column constant in training (tier 3's denoise, splice, alpha moves never are sampled)
    # divided by ~0 turns any other value into ±1e5 and the predictions into 0 or 1.
    return np.where(std > 1e-5, std, 1.0).astype(np.float32)


def evaluate_predictor(
    predictor: QualityPredictor, x: np.ndarray, y: np.ndarray
) -> dict[str, float]:
    """Return MAE per target in natural units (bytes and time as relative error)."""
    predicted = predictor.predict_rows(x)
    truth = decode_targets(y)
    return {
        "ssim_mae": float(np.mean(np.abs(predicted["ssim"] - truth["ssim"]))),
        "fidelity_mae": float(np.mean(np.abs(predicted["fidelity"] - truth["fidelity"]))),
        "bytes_mape": float(np.mean(np.abs(predicted["bytes"] / truth["bytes"] - 1))),
        "time_mape": float(np.mean(np.abs(predicted["time_ms"] / truth["time_ms"] - 1))),
        "rows": len(x),
    }
