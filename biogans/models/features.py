"""The feature network of the standard metrics (KID, FID, precision/recall): a small convolutional
network trained to tell the proteins apart on real training cells; its penultimate layer is the feature
space in which the metrics compare sets of cells, in place of an Inception network trained on photographs.

Rebuilt from a small spec (stored beside its weights): ``architecture`` (``protein-cnn``), ``proteins``
(the classes, in order), ``channels``, ``height``, ``width`` (the cells), ``ndf`` (the first block's
width; blocks double it) and ``features`` (the penultimate layer's size).
"""

from __future__ import annotations

from collections.abc import Mapping

import torch
from torch import nn

from biogans.errors import BiogansError
from biogans.validation import MAX_IMAGE_SIDE, MAX_PROTEINS, MAX_WIDTH, check_positive_int

ARCHITECTURE = "protein-cnn"
SPEC_KEYS = ("architecture", "proteins", "channels", "height", "width", "ndf", "features")
#: Strided blocks: each halves the height and width (48x80 -> 3x5).
BLOCKS = 4


def feature_spec(proteins: list[str], ndf: int = 16, features: int = 64, channels: int = 2, height: int = 48,
                 width: int = 80) -> dict:
    """The spec of a feature network for cells [channels, height, width] of ``proteins``."""
    return check_feature_spec({"architecture": ARCHITECTURE, "proteins": list(proteins), "channels": channels,
                               "height": height, "width": width, "ndf": ndf, "features": features})


def check_feature_spec(spec: Mapping, source: str = "feature network spec") -> dict:
    """``spec`` as a dict if it describes a buildable feature network; else a one-line BiogansError."""
    try:
        if not isinstance(spec, Mapping) or set(spec) != set(SPEC_KEYS):
            raise BiogansError(f"expected the keys {', '.join(SPEC_KEYS)}")
        if spec["architecture"] != ARCHITECTURE:
            raise BiogansError(f"unknown architecture {spec['architecture']!r} (known: {ARCHITECTURE})")
        proteins = spec["proteins"]
        if not isinstance(proteins, list) or not 2 <= len(proteins) <= MAX_PROTEINS \
                or not all(isinstance(p, str) and p for p in proteins) or len(set(proteins)) != len(proteins):
            raise BiogansError(f"proteins must be 2 to {MAX_PROTEINS} distinct names, got {proteins!r}")
        check_positive_int("channels", spec["channels"], MAX_PROTEINS + 1)
        for side in ("height", "width"):
            check_positive_int(side, spec[side], MAX_IMAGE_SIDE)
            if spec[side] % 2 ** BLOCKS:
                raise BiogansError(f"{side} {spec[side]} is not a multiple of {2 ** BLOCKS}")
        check_positive_int("ndf", spec["ndf"], MAX_WIDTH // 2 ** (BLOCKS - 1))
        check_positive_int("features", spec["features"], MAX_WIDTH)
    except BiogansError as error:
        raise BiogansError(f"{source}: {error}") from None
    return dict(spec)


class FeatureNet(nn.Module):
    """Cells [B, C, H, W] in [-1, 1] -> features [B, F] -> protein logits [B, P].

    Four strided 4x4 convolutions (widths ndf, 2ndf, 4ndf, 8ndf; BatchNorm, LeakyReLU 0.2: the DCGAN
    critic's blocks) take a 48x80 cell to a 3x5 map, kept spatial rather than pooled, since where a
    protein sits in the cell (tips, middle, dots) is what tells the proteins apart; a linear layer turns
    it into the F features, then ReLU and a linear layer into the logits. The features are the linear
    layer's output before the ReLU: unbounded, so that cells unlike any training cell (noise) land far
    from the real ones instead of being clipped to 0 with every cell that does not excite a unit (with
    the ReLU'd features, uniform noise scored closer to the real cells than blurred cells did).
    """

    def __init__(self, spec: Mapping):
        super().__init__()
        self.spec = check_feature_spec(spec)
        self.proteins: list[str] = list(self.spec["proteins"])
        #: The feature size, read by torchmetrics instead of probing the network with a dummy image.
        self.num_features: int = self.spec["features"]
        layers: list[nn.Module] = []
        width_in, ndf = self.spec["channels"], self.spec["ndf"]
        for block in range(BLOCKS):
            width_out = ndf * 2 ** block
            layers += [nn.Conv2d(width_in, width_out, 4, 2, 1, bias=False), nn.BatchNorm2d(width_out),
                       nn.LeakyReLU(0.2)]
            width_in = width_out
        area = (self.spec["height"] // 2 ** BLOCKS) * (self.spec["width"] // 2 ** BLOCKS)
        self.body = nn.Sequential(*layers, nn.Flatten(), nn.Linear(width_in * area, self.num_features))
        self.head = nn.Sequential(nn.ReLU(), nn.Linear(self.num_features, len(self.proteins)))
        #: Per-feature mean and spread of the training cells' penultimate layer (set by
        #: :meth:`standardise`): the features are standardised, so that KID's cubic kernel of x.y / F sees
        #: values of order 1, as with Inception features, and no one feature dominates the distances.
        self.register_buffer("feature_mean", torch.zeros(self.num_features))
        self.register_buffer("feature_scale", torch.ones(self.num_features))

    @torch.no_grad()
    def standardise(self, cells: torch.Tensor, chunk: int = 512) -> None:
        """Set the feature mean and spread from ``cells`` [N, C, H, W] (the training cells), in eval mode; a
        feature constant on them (a unit that never fires) keeps a spread of 1."""
        self.eval()
        raw = torch.cat([self.body(cells[i:i + chunk]) for i in range(0, len(cells), chunk)])
        spread = raw.std(0) if len(raw) > 1 else torch.ones_like(raw[0])
        self.feature_mean.copy_(raw.mean(0))
        self.feature_scale.copy_(torch.where(spread > 1e-6, spread, torch.ones_like(spread)))

    def features(self, cells: torch.Tensor) -> torch.Tensor:
        """The penultimate layer, standardised: [B, C, H, W] -> [B, F]."""
        return (self.body(cells) - self.feature_mean) / self.feature_scale

    def forward(self, cells: torch.Tensor) -> torch.Tensor:
        """Protein logits [B, P]."""
        return self.head(self.body(cells))


class FeatureExtractor(nn.Module):
    """A trained :class:`FeatureNet` seen as torchmetrics' ``feature`` module: cells [B, C, H, W] in
    [-1, 1] -> features [B, F] in float64 (the Fréchet distance's matrix square root, and KID's cubic
    kernel, need double precision), in eval mode whatever the caller does."""

    def __init__(self, net: FeatureNet):
        super().__init__()
        self.net = net.eval()
        self.num_features: int = net.num_features

    def train(self, mode: bool = True) -> FeatureExtractor:
        """Stays in eval mode: the metrics must not update BatchNorm statistics."""
        return super().train(False)

    @torch.no_grad()
    def forward(self, cells: torch.Tensor) -> torch.Tensor:
        return self.net.features(cells.float()).double()
