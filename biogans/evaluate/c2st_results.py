"""C2ST result files: one row per comparison and split, and their summaries per table cell."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import stats

from biogans.files import atomic_path, read_csv

#: Columns of a C2ST result file, one row per comparison and split.
COLUMNS = ("evaluator", "iteration", "protein", "versus", "split", "score", "accuracy", "p_value")


def binomial_p_value(correct: int | np.ndarray, n: int | np.ndarray) -> float | np.ndarray:
    """P(X >= correct) for X ~ Binomial(n, 1/2): the accuracy C2ST's one-sided p-value."""
    return stats.binom.sf(np.asarray(correct) - 1, n, 0.5)


def result_rows(evaluator: str, comparisons: Sequence, outcomes: Sequence) -> pd.DataFrame:
    """One row per comparison: the columns of :data:`COLUMNS`, plus ``correct`` and ``n`` (the
    classified held-out cells, for pooling; not written to the CSV)."""
    return pd.DataFrame({
        "evaluator": evaluator,
        "iteration": pd.array([c.iteration for c in comparisons], dtype="Int64"),
        "protein": [c.protein for c in comparisons],
        "versus": [c.versus for c in comparisons],
        "split": [c.split for c in comparisons],
        "score": [o.score for o in outcomes],
        "accuracy": [o.accuracy for o in outcomes],
        "p_value": [o.p_value for o in outcomes],
        "correct": [o.correct for o in outcomes],
        "n": [o.n for o in outcomes],
    })


def mean_over_proteins(rows: pd.DataFrame) -> pd.DataFrame:
    """Rows ``protein = all`` per (evaluator, iteration, versus, split): the mean of the per-protein
    scores; accuracy and p-value of the pooled classifications (correct and n summed over proteins)."""
    pooled = rows.groupby(["evaluator", "iteration", "versus", "split"], dropna=False, sort=False).agg(
        score=("score", "mean"), correct=("correct", "sum"), n=("n", "sum")).reset_index()
    pooled["protein"] = "all"
    pooled["accuracy"] = pooled["correct"] / pooled["n"]
    pooled["p_value"] = binomial_p_value(pooled["correct"].to_numpy(), pooled["n"].to_numpy())
    return pooled.loc[:, list(rows.columns)]


def write_results(results: pd.DataFrame, path: str | Path) -> None:
    """Write the :data:`COLUMNS` of a result table as CSV, atomically (iteration empty where undefined)."""
    with atomic_path(path) as tmp:
        results.loc[:, list(COLUMNS)].to_csv(tmp, index=False, float_format="%.6g")


def read_results(path: str | Path, allow_empty: bool = False) -> pd.DataFrame:
    """Read a C2ST result CSV, checking its columns and their types (no rows is an error unless allowed)."""
    return read_csv(path, "C2ST result table", numbers=("score", "accuracy", "p_value"),
                    integers=("iteration", "split"), texts=("evaluator", "protein", "versus"), allow_empty=allow_empty)


def summary(results: str | Path | pd.DataFrame) -> pd.DataFrame:
    """Per (evaluator, iteration, protein, versus): mean, std and n_splits of the score, mean accuracy
    and median p-value over the splits (the tables' cells). The std is the population one (ddof 0,
    ``np.std``), as the paper's tables report it."""
    frame = results if isinstance(results, pd.DataFrame) else read_results(results)
    grouped = frame.groupby(["evaluator", "iteration", "protein", "versus"], dropna=False, sort=False)
    return grouped.agg(mean=("score", "mean"), std=("score", lambda x: x.std(ddof=0)), n_splits=("score", "size"),
                       accuracy=("accuracy", "mean"), p_value=("p_value", "median")).reset_index()
