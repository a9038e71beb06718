"""Standard sample-quality metrics between a set of cells and a set of real cells.

- KID (Bińkowski et al. 2018: the unbiased squared MMD of a cubic polynomial kernel, mean and std over
  random subsets) and FID (Heusel et al. 2017: Fréchet distance of Gaussians fitted to the features),
  both computed by torchmetrics with the project's feature network
  (:class:`biogans.models.features.FeatureExtractor`, float64 features) as their ``feature`` module;
- precision and recall (Kynkäänniemi et al. 2019): the share of samples inside the real cells' k-NN
  manifold (each real cell's ball reaching its k-th nearest real neighbour), and of real cells inside
  the samples' manifold, on the same features;
- memorisation: the median distance from a sample to its nearest training cell, over the same median for
  real test cells: ~1 for a generator that draws new cells, ~0 for one that copies its training set.
  Measured in pixels (L2 over both channels in [-1, 1]), under the four flips: a copy is then exactly at
  0 whatever the feature network, and a flipped copy (the GANs train on randomly flipped cells) counts
  as a copy; in the feature space, trained to ignore what distinguishes cells of one protein, distinct
  but typical cells would sit near each other and pass for copies. Read it beside the other metrics:
  smoothing brings a cell nearer to every other in L2, so blurred real cells score ~0.83 on simulated
  cells (copies 0, new real cells 1.0 +- 0.05, uniform noise ~8).
"""

from __future__ import annotations

import warnings

import numpy as np
import torch
from torchmetrics.image.fid import FrechetInceptionDistance
from torchmetrics.image.kid import KernelInceptionDistance

from biogans.models.features import FeatureExtractor

#: The four flips of a cell: none, horizontal, vertical, both (dims of [N, C, H, W]).
FLIPS: tuple[tuple[int, ...], ...] = ((), (-1,), (-2,), (-2, -1))


def _feed(metric: KernelInceptionDistance | FrechetInceptionDistance, cells: torch.Tensor, real: bool,
          chunk: int, device: torch.device) -> None:
    for start in range(0, len(cells), chunk):
        metric.update(cells[start:start + chunk].to(device), real=real)


def kid_fid(extractor: FeatureExtractor, samples: torch.Tensor, real: torch.Tensor, subsets: int = 100,
            subset_size: int = 1000, seed: int = 0, chunk: int = 256) -> tuple[float, float, float]:
    """(KID mean, KID std over ``subsets`` subsets, FID) of cells ``samples`` [N, C, H, W] against ``real``
    [M, C, H, W] (both in [-1, 1], each at least 2 cells). The subsets hold min(subset_size, N, M) cells of
    each set, drawn with torch's generator seeded by ``seed`` (torchmetrics draws them from the global
    one, whose state is restored afterwards); where that is every cell of both sets, every subset is the
    same and the std is 0."""
    device = next(extractor.parameters()).device
    size = min(subset_size, len(samples), len(real))
    with warnings.catch_warnings():  # torchmetrics warns that KID keeps every feature: a few MB here
        warnings.filterwarnings("ignore", message=".*will save all extracted features.*")
        kid = KernelInceptionDistance(feature=extractor, subsets=subsets, subset_size=size).to(device)
    fid = FrechetInceptionDistance(feature=extractor).to(device)  # reads extractor.num_features: no probe
    for metric in (kid, fid):
        _feed(metric, real, True, chunk, device)
        _feed(metric, samples, False, chunk, device)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        kid_mean, kid_std = kid.compute()
    return float(kid_mean), float(kid_std), float(fid.compute())


@torch.no_grad()
def features(extractor: FeatureExtractor, cells: torch.Tensor, chunk: int = 256) -> torch.Tensor:
    """Cells [N, C, H, W] -> features [N, F] (float64, on the CPU)."""
    device = next(extractor.parameters()).device
    return torch.cat([extractor(cells[i:i + chunk].to(device)).cpu() for i in range(0, len(cells), chunk)])


def kth_neighbour_distances(points: torch.Tensor, k: int, chunk: int = 1024) -> torch.Tensor:
    """[N]: each point's distance to its k-th nearest other point of ``points`` [N, F] (N > k)."""
    return torch.cat([torch.cdist(points[i:i + chunk], points).kthvalue(k + 1, dim=1).values
                      for i in range(0, len(points), chunk)])


def coverage(points: torch.Tensor, centres: torch.Tensor, radii: torch.Tensor, chunk: int = 1024) -> float:
    """The share of ``points`` [N, F] within ``radii`` [M] of at least one of ``centres`` [M, F]."""
    inside = [(torch.cdist(points[i:i + chunk], centres) <= radii[None]).any(1) for i in range(0, len(points), chunk)]
    return float(torch.cat(inside).double().mean())


def precision_recall(sample_features: torch.Tensor, real_features: torch.Tensor, k: int = 3,
                     chunk: int = 1024) -> tuple[float, float]:
    """Improved precision and recall (Kynkäänniemi et al. 2019) of features [N, F] against [M, F]."""
    precision = coverage(sample_features, real_features, kth_neighbour_distances(real_features, k, chunk), chunk)
    recall = coverage(real_features, sample_features, kth_neighbour_distances(sample_features, k, chunk), chunk)
    return precision, recall


@torch.no_grad()
def nearest_distances(cells: torch.Tensor, reference: torch.Tensor, chunk: int = 256) -> torch.Tensor:
    """[N]: the L2 distance in pixels from each cell [N, C, H, W] to the nearest of ``reference`` [M, C, H, W]
    under any flip (flipping the query is the same as flipping the reference, and costs no copy of it)."""
    flat = reference.flatten(1).float()
    nearest = []
    for start in range(0, len(cells), chunk):
        part = cells[start:start + chunk].float()
        distances = [torch.cdist(part.flip(dims).flatten(1) if dims else part.flatten(1), flat).amin(1)
                     for dims in FLIPS]
        nearest.append(torch.stack(distances).amin(0))
    return torch.cat(nearest).double()


def memorisation(samples: torch.Tensor, test: torch.Tensor, train: torch.Tensor, chunk: int = 256) -> float:
    """Median distance of ``samples`` to their nearest ``train`` cell over that of real ``test`` cells
    (all [N, C, H, W]); NaN where the test cells' median is 0 (test cells that copy training cells)."""
    return memorisation_ratio(nearest_distances(samples, train, chunk), nearest_distances(test, train, chunk))


def memorisation_ratio(sample_distances: torch.Tensor, test_distances: torch.Tensor) -> float:
    """:func:`memorisation` from the nearest-training-cell distances [N] of the samples and [M] of the test
    cells (as :func:`nearest_distances` gives them)."""
    baseline = _median(test_distances)
    return _median(sample_distances) / baseline if baseline > 0 else float("nan")


def _median(values: torch.Tensor) -> float:
    """The median, the mean of the two middle values of an even count (torch's median takes the lower)."""
    return float(np.median(values.numpy()))
