"""The logo-type classifier: a small MLP over standardised ImageFeatures."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import NotRequired, TypedDict

import numpy as np
import torch
from torch import nn

from vectorizer.features import FEATURE_NAMES, ImageFeatures

LOGO_TYPES = ("simple", "text", "gradient", "complex")
DEFAULT_EPOCHS = 120


class LogoTypeNet(nn.Module):
    def __init__(self, n_features: int, hidden: int = 64, n_classes: int = len(LOGO_TYPES)):
        super().__init__()
        self.layers = nn.Sequential(
            nn.Linear(n_features, hidden),
            nn.ReLU(),
            nn.Dropout(0.2),
            nn.Linear(hidden, hidden),
            nn.ReLU(),
            nn.Dropout(0.2),
            nn.Linear(hidden, n_classes),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Return class logits for a batch of standardised feature vectors."""
        logits: torch.Tensor = self.layers(x)
        return logits


@dataclass
class LogoTypeModel:
    net: LogoTypeNet
    mean: np.ndarray
    std: np.ndarray
    feature_names: tuple[str, ...] = FEATURE_NAMES
    metrics: dict[str, object] = field(default_factory=dict)

    def predict(self, features: ImageFeatures) -> tuple[str, float]:
        """Return the most likely logo type of one image and its softmax confidence."""
        probabilities = self.predict_proba(features.as_vector()[None, :])[0]
        best = int(probabilities.argmax())
        return LOGO_TYPES[best], float(probabilities[best])

    def predict_proba(self, vectors: np.ndarray) -> np.ndarray:
        """Return class probabilities (columns in LOGO_TYPES order) for rows of feature vectors."""
        x = torch.from_numpy(self._standardise(vectors))
        self.net.eval()
        with torch.no_grad():
            return torch.softmax(self.net(x), dim=1).numpy()

    def save(self, path: Path) -> None:
        """Write the weights, the standardisation and the metrics as a plain torch dict."""
        torch.save(
            {
                "state_dict": self.net.state_dict(),
                "n_features": len(self.feature_names),
                "hidden": self.net.layers[0].out_features,
                "mean": torch.from_numpy(self.mean.astype(np.float32)),
                "std": torch.from_numpy(self.std.astype(np.float32)),
                "feature_names": list(self.feature_names),
                "logo_types": list(LOGO_TYPES),
                "metrics": self.metrics,
            },
            Path(path),
        )

    @classmethod
    def load(cls, path: Path) -> LogoTypeModel:
        """Return a model saved by save(); refuses files from another feature set."""
        data = torch.load(Path(path), weights_only=True, map_location="cpu")
        names = tuple(data["feature_names"])
        if names != FEATURE_NAMES:
            raise ValueError(f"{path} was trained on other features than this code computes.")
        net = LogoTypeNet(data["n_features"], hidden=data["hidden"])
        net.load_state_dict(data["state_dict"])
        net.eval()
        return cls(
            net=net,
            mean=data["mean"].numpy(),
            std=data["std"].numpy(),
            feature_names=names,
            metrics=data["metrics"],
        )

    def _standardise(self, vectors: np.ndarray) -> np.ndarray:
        x = (_transform(np.asarray(vectors, dtype=np.float32)) - self.mean) / self.std
        bounded: np.ndarray = np.nan_to_num(x, nan=0.0, posinf=10.0, neginf=-10.0).clip(-10, 10)
        return bounded.astype(np.float32)


def _transform(vectors: np.ndarray) -> np.ndarray:
    # Sizes and counts span orders of magnitude; a signed log keeps them from dominating.
    signed_log: np.ndarray = np.sign(vectors) * np.log1p(np.abs(vectors))
    return signed_log


def train_logo_type(
    features: np.ndarray,
    labels: list[str],
    *,
    seed: int = 0,
    epochs: int = DEFAULT_EPOCHS,
    hidden: int = 64,
) -> LogoTypeModel:
    """Return a LogoTypeModel fitted on rows of feature vectors and their logo-type labels."""
    torch.manual_seed(seed)
    generator = torch.Generator().manual_seed(seed)
    transformed = _transform(np.asarray(features, dtype=np.float32))
    mean = transformed.mean(axis=0)
    std = transformed.std(axis=0)
    std = np.where(std > 1e-6, std, 1.0).astype(np.float32)
    model = LogoTypeModel(net=LogoTypeNet(transformed.shape[1], hidden=hidden), mean=mean, std=std)
    x = torch.from_numpy(model._standardise(features))
    y = torch.tensor([LOGO_TYPES.index(label) for label in labels], dtype=torch.long)
    # Inverse-frequency weights: gradient logos are rare, yet routing needs them found.
    counts = torch.bincount(y, minlength=len(LOGO_TYPES)).float()
    weights = counts.sum() / (len(LOGO_TYPES) * counts.clamp(min=1))
    loss_fn = nn.CrossEntropyLoss(weight=weights)
    optimizer = torch.optim.AdamW(model.net.parameters(), lr=3e-3, weight_decay=1e-3)
    batch = 64
    model.net.train()
    for _ in range(epochs):
        order = torch.randperm(len(y), generator=generator)
        for start in range(0, len(y), batch):
            index = order[start : start + batch]
            optimizer.zero_grad()
            loss = loss_fn(model.net(x[index]), y[index])
            loss.backward()
            optimizer.step()
    model.net.eval()
    return model


class ClassifierScores(TypedDict):
    """`evaluate()`: how well a logo-type model tells the types apart on labelled features."""

    accuracy: float
    per_class: dict[str, float]
    confusion: list[list[int]]
    labels: list[str]
    n: int
    per_variant: NotRequired[dict[str, float]]  # training adds accuracy per image variant


def evaluate(model: LogoTypeModel, features: np.ndarray, labels: list[str]) -> ClassifierScores:
    """Return accuracy, per-class accuracy and the confusion matrix (rows are true types)."""
    predicted = model.predict_proba(features).argmax(axis=1)
    truth = np.array([LOGO_TYPES.index(label) for label in labels], dtype=np.int64)
    confusion = np.zeros((len(LOGO_TYPES), len(LOGO_TYPES)), dtype=np.int64)
    np.add.at(confusion, (truth, predicted), 1)
    per_class = {
        name: float(confusion[i, i] / row_total) if (row_total := confusion[i].sum()) else 0.0
        for i, name in enumerate(LOGO_TYPES)
    }
    return {
        "accuracy": float((predicted == truth).mean()) if len(truth) else 0.0,
        "per_class": per_class,
        "confusion": confusion.tolist(),
        "labels": list(LOGO_TYPES),
        "n": len(truth),
    }
