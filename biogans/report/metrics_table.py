"""Table 5 (beyond the paper): the field's standard metrics of every model and external sample set, on the
features of the project's own protein classifier (``biogans features``) rather than Inception's.

One CSV (``results/tables/table5_metrics.csv``, columns :data:`COLUMNS`) from the per-set files of
``biogans evaluate-samples``, and a ``.md`` beside it that also gives the feature network's held-out protein
accuracy: values are comparable only between sets measured with the same feature network.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import pandas as pd

from biogans.errors import BiogansError
from biogans.evaluate.sample_metrics import METRIC_COLUMNS, REAL
from biogans.files import atomic_path, read_csv
from biogans.report.tables import check_table_path, markdown, markdown_path, title
from biogans.train.features import feature_summary

COLUMNS = METRIC_COLUMNS
#: The metrics, each with its direction and what a generator that draws new real-like cells scores.
METRICS = {
    "kid_mean": ("KID", "lower is better; about 0 for the real cells (`real` rows)"),
    "fid": ("FID", "lower is better; the `real` rows are the floor"),
    "precision": ("precision", "higher is better, at most 1: samples inside the real cells' manifold"),
    "recall": ("recall", "higher is better, at most 1: real cells inside the samples' manifold"),
    "memorisation": ("memorisation", "about 1 for new cells, near 0 for copies of training cells"),
}


def read_metric_rows(path: str | Path) -> pd.DataFrame:
    """One ``biogans evaluate-samples`` file, its columns and types checked."""
    return read_csv(path, "metrics table", numbers=tuple(COLUMNS[2:]), texts=("model", "protein"))


def table5_metrics(runs: Mapping[str, str | Path], out: str | Path, *, features: str | Path) -> pd.DataFrame:
    """Table 5 from ``runs`` (a set's name -> its metrics file; the set ``real`` gives the floor rows), with
    the feature network ``features`` described beside it."""
    out = check_table_path(out)
    if not runs:
        raise BiogansError("table 5: no metrics files given")
    frames = []
    for name, path in runs.items():
        rows = read_metric_rows(path)
        if set(rows["model"]) != {name}:
            raise BiogansError(f"{path}: rows of {', '.join(sorted(set(rows['model'])))}, expected {name}")
        frames.append(rows)
    table = pd.concat(frames, ignore_index=True).loc[:, list(COLUMNS)]
    text = _markdown(table, feature_summary(features))
    with atomic_path(out) as csv_tmp, atomic_path(markdown_path(out)) as md_tmp:
        table.to_csv(csv_tmp, index=False, float_format="%.6g")
        md_tmp.write_text(text)
    return table


def _markdown(table: pd.DataFrame, features: dict) -> str:
    overall = table[table["protein"] == "all"]
    text = title("Table 5: standard metrics on the project's own features",
                 "Each model's samples (and each external sample set) against the real test cells of the same "
                 f"protein, all proteins pooled (`all`); `{REAL}`: the real test cells against the training "
                 "cells, the floor of each metric. " + " ".join(f"{name}: {meaning}." for name, meaning in
                                                                METRICS.values()))
    text += "\n" + markdown(["model", "KID (mean ± std)", "FID", "precision", "recall", "memorisation"],
                            [[r["model"], f"{r['kid_mean']:.3f} ± {r['kid_std']:.3f}", f"{r['fid']:.2f}",
                              f"{r['precision']:.2f}", f"{r['recall']:.2f}", f"{r['memorisation']:.2f}"]
                             for _, r in overall.iterrows()])
    proteins = [p for p in dict.fromkeys(table["protein"]) if p != "all"]
    if proteins:
        models = list(dict.fromkeys(table["model"]))
        kid = {(r["protein"], r["model"]): f"{r['kid_mean']:.3f}" for _, r in table.iterrows()}
        text += "\nKID per protein (row) and model (column):\n\n" + markdown(
            ["protein \\ model", *models], [[p, *(kid.get((p, m), "") for m in models)] for p in proteins])
    accuracy = ", ".join(f"{p} {a:.2f}" for p, a in features["protein_accuracy"].items())
    text += (f"\nFeatures: the penultimate layer ({features['features']} values) of a protein classifier trained "
             f"on the {features['n_train']} training cells only; its held-out protein accuracy is "
             f"{features['accuracy']:.3f} on the {features['n_test']} test cells ({accuracy}). Numbers from "
             "another feature network are not comparable with these.\n")
    return text
