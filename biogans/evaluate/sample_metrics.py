"""Metric rows of sample sets (``biogans evaluate-samples``; the workflow's Table 5): per model and protein,
KID, FID, precision and recall on the feature network, and memorisation in pixels
(:mod:`biogans.evaluate.metrics`).

Each protein's samples are measured against the real test cells of that protein; the row ``all`` pools
every protein of the model (samples against the pooled test cells of those proteins), and a joint model's
merged proteins give the ``all`` row alone. Memorisation looks for each sample's nearest training cell of
its own protein(s), in the ``all`` row too (so it reuses the per-protein distances: a pooled search over
every protein's training cells would cost as much again as all the rest). The rows of model ``real``
measure the real test cells against the real training cells: the floor each metric reaches for two sets
of real cells of these sizes (memorisation 1 by definition). A model's source is a sample file
(:mod:`biogans.evaluate.external`) or a generator file, from which ``options.n`` cells per protein are
drawn with latents seeded by ``options.seed``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
import torch

from biogans.data.loaders import cell_tensor
from biogans.data.store import read_store, store_groups
from biogans.device import resolve_device
from biogans.errors import BiogansError
from biogans.evaluate.external import MERGED, SampleSet, load_samples
from biogans.evaluate.metrics import features, kid_fid, memorisation_ratio, nearest_distances, precision_recall
from biogans.evaluate.options import MetricOptions
from biogans.files import atomic_path
from biogans.models.features import FeatureExtractor
from biogans.train.features import load_features

#: Columns of a metric table, one row per model and protein.
METRIC_COLUMNS = ("model", "protein", "kid_mean", "kid_std", "fid", "precision", "recall", "memorisation")
#: The model name of the real floor: the test cells measured against the training cells.
REAL = "real"
#: The row pooling every protein of a model.
POOLED = "all"


@dataclass(frozen=True)
class RealCells:
    """The real cells of a store in [-1, 1], per protein: ``test`` and ``train`` [N, 2, H, W]; the test
    cells' distances to their nearest training cell are computed once per set of proteins."""

    source: str
    test: dict[str, torch.Tensor]
    train: dict[str, torch.Tensor]
    _test_distances: dict = field(default_factory=dict, repr=False)

    def pooled(self, role: str, proteins: Sequence[str]) -> torch.Tensor:
        return torch.cat([getattr(self, role)[p] for p in proteins])

    def test_distances(self, proteins: Sequence[str], chunk: int) -> torch.Tensor:
        """[N]: each test cell of ``proteins``' distance to the nearest of their training cells."""
        key = tuple(proteins)
        if key not in self._test_distances:
            self._test_distances[key] = nearest_distances(self.pooled("test", key), self.pooled("train", key), chunk)
        return self._test_distances[key]


def real_cells(cells_path: str | Path, proteins: Sequence[str] | None = None) -> RealCells:
    """The test and training cells of ``proteins`` (default: all) of a cell store."""
    store = read_store(cells_path, groups=proteins)
    return RealCells(str(cells_path), *({p: cell_tensor(cells, cells.role_indices(role)) for p, cells in store.items()}
                                        for role in ("test", "train")))


def set_metrics(extractor: FeatureExtractor, samples: torch.Tensor, reference: torch.Tensor,
                options: MetricOptions) -> dict[str, float]:
    """KID, FID, precision and recall of ``samples`` against ``reference`` (cells [N, 2, H, W] in [-1, 1])."""
    kid_mean, kid_std, fid = kid_fid(extractor, samples, reference, options.kid_subsets, options.kid_subset_size,
                                     options.seed, options.batch_size)
    precision, recall = precision_recall(features(extractor, samples, options.batch_size),
                                         features(extractor, reference, options.batch_size), options.k)
    return {"kid_mean": kid_mean, "kid_std": kid_std, "fid": fid, "precision": precision, "recall": recall}


def _rows(model: str, sets: Mapping[str, tuple[torch.Tensor, tuple[str, ...], torch.Tensor]], reference_role: str,
          real: RealCells, extractor: FeatureExtractor, options: MetricOptions) -> pd.DataFrame:
    """One row per set {key: (cells, the proteins they stand for, their nearest-training-cell distances)},
    measured against the real cells of ``reference_role``, plus the pooled row ``all`` (unless the one set
    is a joint model's merged proteins), whose distances are those of its sets: each cell's nearest
    training cell is one of its own protein."""
    sets = dict(sets)
    if MERGED not in sets:
        cells, proteins, distances = zip(*sets.values(), strict=True)
        sets[POOLED] = (torch.cat(cells), tuple(p for members in proteins for p in members), torch.cat(distances))
    rows = []
    for key, (cells, members, distances) in sets.items():
        test_distances = torch.cat([real.test_distances(m, options.batch_size) for m in
                                    ([(p,) for p in members] if key == POOLED else [members])])
        rows.append({"model": model, "protein": key,
                     **set_metrics(extractor, cells, real.pooled(reference_role, members), options),
                     "memorisation": memorisation_ratio(distances, test_distances)})
    return pd.DataFrame(rows, columns=list(METRIC_COLUMNS))


def _check_sizes(sets: Mapping[str, torch.Tensor], where: str, options: MetricOptions) -> None:
    for name, cells in sets.items():
        if len(cells) < max(2, options.k + 1):
            raise BiogansError(f"{where}: {len(cells)} cells of {name}; the metrics need at least "
                               f"{max(2, options.k + 1)} (precision/recall's k = {options.k}, plus one)")


def _checked_real(real: RealCells, proteins: Sequence[str], options: MetricOptions) -> None:
    _check_sizes({f"{p} ({role})": getattr(real, role)[p] for p in proteins for role in ("test", "train")},
                 real.source, options)


def _extractor(features_path: str | Path, options: MetricOptions) -> FeatureExtractor:
    return FeatureExtractor(load_features(features_path, resolve_device(options.device)).net)


def metric_rows(model: str, source: str | Path | SampleSet, cells_path: str | Path, features_path: str | Path,
                options: MetricOptions = MetricOptions(), real: RealCells | None = None,
                extractor: FeatureExtractor | None = None) -> pd.DataFrame:
    """The rows of one model: one per protein of ``source`` (a sample file, a generator .pt or a
    :class:`SampleSet`) plus ``all``; ``real`` and ``extractor`` save reloading them across models."""
    samples = source if isinstance(source, SampleSet) else load_samples(
        source, store_groups(cells_path), options.k + 1, options.n, options.seed, options.device)
    proteins = list(dict.fromkeys(p for key in samples.cells for p in samples.proteins_of(key)))
    real = real or real_cells(cells_path, proteins)
    _checked_real(real, proteins, options)
    _check_sizes(samples.cells, samples.source, options)
    extractor = extractor or _extractor(features_path, options)
    sets = {key: (cells, samples.proteins_of(key),
                  nearest_distances(cells, real.pooled("train", samples.proteins_of(key)), options.batch_size))
            for key, cells in samples.cells.items()}
    return _rows(model, sets, "test", real, extractor, options)


def real_rows(cells_path: str | Path, features_path: str | Path, options: MetricOptions = MetricOptions(),
              proteins: Sequence[str] | None = None, real: RealCells | None = None,
              extractor: FeatureExtractor | None = None) -> pd.DataFrame:
    """The rows of model ``real``: each protein's test cells against its training cells, plus ``all``."""
    real = real or real_cells(cells_path, proteins)
    _checked_real(real, list(real.test), options)
    extractor = extractor or _extractor(features_path, options)
    sets = {p: (cells, (p,), real.test_distances((p,), options.batch_size)) for p, cells in real.test.items()}
    return _rows(REAL, sets, "train", real, extractor, options)


def evaluate_samples(sources: Mapping[str, str | Path], cells_path: str | Path, features_path: str | Path,
                     options: MetricOptions = MetricOptions(), include_real: bool = True) -> pd.DataFrame:
    """The rows of model ``real`` (unless ``include_real`` is False), then those of each named source (sample
    file or generator file, read one at a time), the real cells and the feature network read once."""
    if not sources and not include_real:
        raise BiogansError("nothing to evaluate: give sample files, or keep the real rows")
    real = real_cells(cells_path)
    extractor = _extractor(features_path, options)
    frames = [real_rows(cells_path, features_path, options, real=real, extractor=extractor)] if include_real else []
    frames += [metric_rows(name, path, cells_path, features_path, options, real, extractor)
               for name, path in sources.items()]
    return pd.concat(frames, ignore_index=True)


def write_metric_rows(rows: pd.DataFrame, path: str | Path | None) -> None:
    """Write metric rows as CSV to ``path`` atomically, or to stdout where ``path`` is None."""
    if path is None:
        print(rows.loc[:, list(METRIC_COLUMNS)].to_csv(index=False, float_format="%.6g"), end="")
        return
    with atomic_path(path) as tmp:
        rows.loc[:, list(METRIC_COLUMNS)].to_csv(tmp, index=False, float_format="%.6g")
