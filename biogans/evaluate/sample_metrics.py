"""Metric rows of sample sets (``biogans evaluate-samples``; the workflow's Table 5): per model and protein,
KID, FID, precision and recall on the feature network, and memorisation in pixels
(:mod:`biogans.evaluate.metrics`).

Each protein's samples are measured against the real test cells of that protein; the row ``all`` pools
every protein of the model (samples against the pooled test cells of those proteins), and a joint model's
merged proteins give the ``all`` row alone. Memorisation looks for each sample's nearest training cell of
the same protein(s). The rows of model ``real`` measure the real test cells against the real training
cells: the floor each metric reaches for two sets of real cells of these sizes (memorisation 1 by
definition). A model's source is a sample file (:mod:`biogans.evaluate.external`) or a generator file,
from which ``options.n`` cells per protein are drawn with latents seeded by ``options.seed``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import torch

from biogans.data.loaders import cell_tensor
from biogans.data.store import read_store, store_groups
from biogans.device import resolve_device
from biogans.errors import BiogansError
from biogans.evaluate.external import MERGED, SampleSet, load_samples
from biogans.evaluate.metrics import features, kid_fid, memorisation, precision_recall
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
    """The real cells of a store in [-1, 1], per protein: ``test`` and ``train`` [N, 2, H, W]."""

    source: str
    test: dict[str, torch.Tensor]
    train: dict[str, torch.Tensor]

    def pooled(self, role: str, proteins: Sequence[str]) -> torch.Tensor:
        return torch.cat([getattr(self, role)[p] for p in proteins])


def real_cells(cells_path: str | Path, proteins: Sequence[str] | None = None) -> RealCells:
    """The test and training cells of ``proteins`` (default: all) of a cell store."""
    store = read_store(cells_path, groups=proteins)
    return RealCells(str(cells_path), *({p: cell_tensor(cells, cells.role_indices(role)) for p, cells in store.items()}
                                        for role in ("test", "train")))


def set_metrics(extractor: FeatureExtractor, samples: torch.Tensor, reference: torch.Tensor, test: torch.Tensor,
                train: torch.Tensor, options: MetricOptions) -> dict[str, float]:
    """The metric columns of ``samples`` measured against ``reference`` (KID, FID, precision, recall) and
    ``train`` (memorisation, relative to ``test``'s distance to it); all cells [N, 2, H, W] in [-1, 1]."""
    kid_mean, kid_std, fid = kid_fid(extractor, samples, reference, options.kid_subsets, options.kid_subset_size,
                                     options.seed, options.batch_size)
    precision, recall = precision_recall(features(extractor, samples, options.batch_size),
                                         features(extractor, reference, options.batch_size), options.k)
    return {"kid_mean": kid_mean, "kid_std": kid_std, "fid": fid, "precision": precision, "recall": recall,
            "memorisation": memorisation(samples, test, train, options.batch_size)}


def _check_sizes(sets: Mapping[str, torch.Tensor], where: str, options: MetricOptions) -> None:
    for name, cells in sets.items():
        if len(cells) < max(2, options.k + 1):
            raise BiogansError(f"{where}: {len(cells)} cells of {name}; the metrics need at least "
                               f"{max(2, options.k + 1)} (precision/recall's k = {options.k}, plus one)")


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
    _check_sizes({f"{p} ({role})": getattr(real, role)[p] for p in proteins for role in ("test", "train")},
                 str(cells_path), options)
    _check_sizes(samples.cells, samples.source, options)
    extractor = extractor or _extractor(features_path, options)
    sets = dict(samples.cells)
    if MERGED not in sets:
        sets[POOLED] = torch.cat(list(sets.values()))
    rows = []
    for key, cells in sets.items():
        members = proteins if key == POOLED else samples.proteins_of(key)
        test, train = real.pooled("test", members), real.pooled("train", members)
        rows.append({"model": model, "protein": key, **set_metrics(extractor, cells, test, test, train, options)})
    return pd.DataFrame(rows, columns=list(METRIC_COLUMNS))


def real_rows(cells_path: str | Path, features_path: str | Path, options: MetricOptions = MetricOptions(),
              proteins: Sequence[str] | None = None, real: RealCells | None = None,
              extractor: FeatureExtractor | None = None) -> pd.DataFrame:
    """The rows of model ``real``: each protein's test cells against its training cells, plus ``all``."""
    real = real or real_cells(cells_path, proteins)
    _check_sizes({f"{p} ({role})": getattr(real, role)[p] for p in real.test for role in ("test", "train")},
                 str(cells_path), options)
    extractor = extractor or _extractor(features_path, options)
    rows = []
    for key in [*real.test, POOLED]:
        members = list(real.test) if key == POOLED else [key]
        test, train = real.pooled("test", members), real.pooled("train", members)
        rows.append({"model": REAL, "protein": key, **set_metrics(extractor, test, train, test, train, options)})
    return pd.DataFrame(rows, columns=list(METRIC_COLUMNS))


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
