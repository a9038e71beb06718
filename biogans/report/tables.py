"""The paper's tables from the C2ST and reconstruction results: long CSVs plus a Markdown rendering.

Each table is one CSV (``results/tables/<name>.csv``, one row per cell of the table, the columns of
:data:`COLUMNS`) and a ``.md`` beside it (same stem) for people, laid out as the paper prints it. Mean
and std are over the C2ST's splits (std with ddof 0, the paper's ``np.std``), from
:func:`biogans.evaluate.c2st_results.summary`; medians and MADs of the reconstruction come from
:func:`biogans.evaluate.reconstruct.summarise`. Both files of a table are written only when the whole
table could be built.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from biogans.errors import BiogansError
from biogans.evaluate.c2st_results import COLUMNS as C2ST_COLUMNS
from biogans.evaluate.c2st_results import read_results, summary
from biogans.evaluate.options import EVALUATORS, MODES
from biogans.evaluate.reconstruct import CELL_COLUMNS, median_mad, read_cells, summarise
from biogans.files import atomic_path

#: Columns of every table file (a fixed contract: users and the tests depend on them).
COLUMNS: dict[str, tuple[str, ...]] = {
    "table1": ("protein_a", "protein_b", "mean", "std", "n_splits"),
    "table2": ("model", "protein", "mean", "std", "n_splits"),
    "table3": ("mode", "model", "protein", "nll_median", "nll_mad", "l2_median", "l2_mad"),
    "table4": ("model", "mean", "std", "n_splits"),
    "figure8": ("model", "evaluator", "iteration", "split", "score"),
}
#: The evaluator the tables report (the paper: WGAN-GP).
EVALUATOR = "wgangp"
#: Table 2's reference rows: real cells against real cells of the same protein.
REAL_VS_REAL = "real_vs_real"
#: Table 3's memorisation baseline: the distance of each held-out cell to its nearest training cell.
NEAREST_NEIGHBOUR = "nearest_neighbour"
EVALUATOR_NAMES = {"gan": "GAN", "wgan": "WGAN", "wgangp": "WGAN-GP"}


# --------------------------------------------------------------------------- reading C2ST results

def c2st_rows(path: str | Path, evaluator: str | None = EVALUATOR) -> pd.DataFrame:
    """The rows of one C2ST result file (of one evaluator unless None); BiogansError if it has none."""
    if evaluator is not None and evaluator not in EVALUATORS:
        raise BiogansError(f"unknown evaluator {evaluator!r} (expected one of {', '.join(EVALUATORS)})")
    rows = read_results(path)
    if evaluator is not None:
        found = sorted(set(rows["evaluator"].astype(str)))
        rows = rows[rows["evaluator"] == evaluator]
        if rows.empty:
            raise BiogansError(f"{path}: no {evaluator} evaluator rows (has {', '.join(found) or 'no rows'})")
    if rows.empty:
        raise BiogansError(f"{path}: no C2ST rows")
    return rows.assign(source=str(path))


def final_block(rows: pd.DataFrame, path: str | Path) -> pd.DataFrame:
    """The rows of the last generator iteration in a fake-vs-real file (the model as trained); all rows of
    an external sample set's file (generated cells without an iteration)."""
    iterations = rows["iteration"].dropna()
    if iterations.empty and (rows["versus"] == "generated").all():
        return rows
    if iterations.empty:
        raise BiogansError(f"{path}: no generator iteration in the rows (a real-vs-real file?)")
    return rows[rows["iteration"].eq(iterations.max()).fillna(False).to_numpy(bool)]


def _one_comparison(rows: pd.DataFrame, protein: str, versus: str, path: str | Path) -> pd.DataFrame:
    picked = rows[(rows["protein"] == protein) & (rows["versus"] == versus)]
    if picked.empty:
        raise BiogansError(f"{path}: no rows for {protein} versus {versus}")
    duplicated = picked["split"].duplicated()
    if duplicated.any():
        raise BiogansError(f"{path}: split {picked['split'][duplicated].iloc[0]} of {protein} versus {versus} "
                           "appears twice")
    return picked


def _real_vs_real(paths: Sequence[str | Path], evaluator: str) -> pd.DataFrame:
    """Real-vs-real rows of several files (one per protein A); a comparison in two files is refused."""
    if not paths:
        raise BiogansError("no real-vs-real C2ST files given")
    frames = [c2st_rows(path, evaluator) for path in paths]
    rows = pd.concat(frames, ignore_index=True)
    key = ["protein", "versus", "split"]
    clash = rows[rows.duplicated(key, keep=False)]
    if not clash.empty:
        first = clash.iloc[0]
        sources = sorted(set(clash[(clash["protein"] == first["protein"]) & (clash["versus"] == first["versus"])
                                   & (clash["split"] == first["split"])]["source"]))
        raise BiogansError(f"{' and '.join(sources)}: {first['protein']} versus {first['versus']} split "
                           f"{first['split']} given more than once")
    return rows


def _pair(rows: pd.DataFrame, protein: str, versus: str, paths: Sequence[str | Path]) -> pd.DataFrame:
    """The split rows of one real-vs-real comparison, with an error naming the file that should hold it."""
    owners = sorted(set(rows.loc[rows["protein"] == protein, "source"]))
    if not owners:
        raise BiogansError(f"{', '.join(map(str, paths))}: no real-vs-real rows for protein {protein}")
    return _one_comparison(rows, protein, versus, owners[0])


def _stats(rows: pd.DataFrame) -> dict:
    """Mean, std (ddof 0) and count of one comparison's split scores, plus the mean accuracy."""
    (_, first), = summary(rows.loc[:, list(C2ST_COLUMNS)]).iterrows()
    return {"mean": float(first["mean"]), "std": float(first["std"]), "n_splits": int(first["n_splits"]),
            "accuracy": float(first["accuracy"])}


def _proteins_in(rows: pd.DataFrame, exclude: Iterable[str] = ()) -> list[str]:
    names = [str(p) for p in pd.unique(rows["protein"])]
    return [p for p in names if p not in set(exclude)]


# --------------------------------------------------------------------------- the tables

def table1_real_vs_real(real_paths: Sequence[str | Path], out: str | Path, *,
                        proteins: Sequence[str] | None = None, evaluator: str = EVALUATOR) -> pd.DataFrame:
    """Table 1: the C2ST of real protein A cells against real protein B cells, every ordered pair.

    ``proteins`` defaults to every protein A found in the files (in file order); each (A, B) must be there.
    """
    check_table_path(out)
    rows = _real_vs_real(real_paths, evaluator)
    proteins = list(proteins) if proteins else _proteins_in(rows)
    cells = [{"protein_a": a, "protein_b": b, **_stats(_pair(rows, a, b, real_paths))}
             for a in proteins for b in proteins]
    table = pd.DataFrame(cells)
    text = title("Table 1: real-vs-real C2ST",
                  f"{EVALUATOR_NAMES[evaluator]} C2ST score (minus the held-out critic loss) of real cells of "
                  f"protein A (column; the critic trains on A's training-set half) against real cells of protein "
                  f"B (row; B's test-set half), mean ± std (ddof 0) over {_split_count(table)} splits, laid out as "
                  "the paper prints it. About 0 = indistinguishable (the diagonal); higher = the proteins' "
                  "images differ more.")
    text += "\n" + _matrix(table, "protein_b", "protein_a", proteins, proteins, _mean_std)
    text += "\nMean held-out accuracy of the same critics used as classifiers (0.5 = chance):\n\n"
    text += _matrix(table, "protein_b", "protein_a", proteins, proteins, lambda r: f"{r['accuracy']:.2f}")
    write_table(table, text, out, "table1")
    return table[list(COLUMNS["table1"])]


def table2_conditional(models: Mapping[str, str | Path], out: str | Path, *,
                       real_paths: Sequence[str | Path] = (), proteins: Sequence[str] | None = None,
                       evaluator: str = EVALUATOR) -> pd.DataFrame:
    """Table 2: fake-vs-real C2ST of conditional models at their final iteration, per protein and ``all``.

    ``models`` maps a model name to its ``fake/<model>/<evaluator>.csv``; with ``real_paths`` (the
    real-vs-real files) reference rows ``real_vs_real`` are added: each protein against itself, and
    ``all`` = the per-split mean over proteins. ``proteins`` defaults to the first model's; a model's
    ``all`` row is the C2ST file's own (over all the model's proteins).
    """
    check_table_path(out)
    if not models:
        raise BiogansError("table 2: no model C2ST files given")
    cells = []
    for model, path in models.items():
        rows = final_block(c2st_rows(path, evaluator), path)
        if proteins is None:
            proteins = _proteins_in(rows, exclude=("all",))
        for protein in [*proteins, "all"]:
            cells.append({"model": model, "protein": protein,
                          **_stats(_one_comparison(rows, protein, "generated", path))})
    if real_paths:
        real = _real_vs_real(real_paths, evaluator)
        diagonal = [_pair(real, p, p, real_paths) for p in proteins]
        for protein, rows in zip(proteins, diagonal, strict=True):
            cells.append({"model": REAL_VS_REAL, "protein": protein, **_stats(rows)})
        cells.append({"model": REAL_VS_REAL, "protein": "all",
                      **_stats(_mean_over_proteins(diagonal, real_paths))})
    table = pd.DataFrame(cells)
    columns = [*proteins, "all"]
    text = title("Table 2: conditional models, fake-vs-real C2ST",
                  f"{EVALUATOR_NAMES[evaluator]} C2ST score of each model's generated cells against the real "
                  f"test cells of each protein (row) at the model's final iteration, one column per model as the "
                  f"paper prints it, mean ± std (ddof 0) over {_split_count(table)} splits; `all` = the mean "
                  "over proteins per split. Lower is better; "
                  f"`{REAL_VS_REAL}` (real cells against real cells of the same protein) is the floor.")
    models = list(dict.fromkeys(table["model"]))
    text += "\n" + _matrix(table, "protein", "model", columns, models, _mean_std)
    text += "\nMean held-out accuracy of the same critics used as classifiers (0.5 = chance; lower is better):\n\n"
    text += _matrix(table, "protein", "model", columns, models,
                    lambda r: f"{r['accuracy']:.2f}")
    write_table(table, text, out, "table2")
    return table[list(COLUMNS["table2"])]


def _mean_over_proteins(diagonal: Sequence[pd.DataFrame], paths: Sequence[str | Path]) -> pd.DataFrame:
    """Per split, the mean over proteins of their same-protein real-vs-real scores and accuracies."""
    rows = pd.concat(diagonal, ignore_index=True)
    per_split = rows.groupby("split").agg(score=("score", "mean"), accuracy=("accuracy", "mean"),
                                          p_value=("p_value", "median"), n=("score", "size")).reset_index()
    incomplete = per_split[per_split["n"] != len(diagonal)]
    if not incomplete.empty:
        raise BiogansError(f"{', '.join(map(str, paths))}: split {incomplete['split'].iloc[0]} is missing "
                           "for some proteins' same-protein comparison")
    return per_split.assign(evaluator=rows["evaluator"].iloc[0], iteration=pd.NA, protein="all", versus="all")


def table3_reconstruction(runs: Mapping[tuple[str, str], str | Path], out: str | Path) -> pd.DataFrame:
    """Table 3: median and MAD of the latent NLL and of the reconstruction RMSE per (mode, model) and
    protein (and ``all``), plus per mode the ``nearest_neighbour`` rows (RMSE to the nearest training
    cell of each distinct held-out cell of that mode; NLL empty). ``runs`` maps (mode, model) to cells.csv."""
    check_table_path(out)
    if not runs:
        raise BiogansError("table 3: no reconstruction files given")
    cells, per_mode = [], {}
    for (mode, model), path in runs.items():
        if mode not in MODES:
            raise BiogansError(f"{path}: unknown reconstruction mode {mode!r} (known: {', '.join(MODES)})")
        for _, row in summarise(path).iterrows():
            cells.append({"mode": mode, "model": model, **{c: row[c] for c in COLUMNS["table3"][2:]}})
        per_mode.setdefault(mode, []).append(read_cells(path).loc[:, list(CELL_COLUMNS)])
    for mode in (m for m in MODES if m in per_mode):
        held_out = pd.concat(per_mode[mode], ignore_index=True).drop_duplicates(["protein", "row"])
        groups = [(str(p), part) for p, part in held_out.groupby("protein", sort=False)] + [("all", held_out)]
        for protein, part in groups:
            median, mad = median_mad(part["nn_rmse"])
            cells.append({"mode": mode, "model": NEAREST_NEIGHBOUR, "protein": protein, "nll_median": np.nan,
                          "nll_mad": np.nan, "l2_median": median, "l2_mad": mad})
    table = pd.DataFrame(cells, columns=list(COLUMNS["table3"]))
    text = title("Table 3: reconstruction of held-out cells",
                  "Per protein, median ± MAD over held-out test cells of the reconstruction error (RMSE in "
                  "[0, 1] intensity units, both channels) and of the negative log-likelihood of the fitted "
                  f"latent under N(0, I). Lower is better for both; `{NEAREST_NEIGHBOUR}` is the RMSE to the "
                  "nearest training cell (a memorising generator would match it).")
    for mode in dict.fromkeys(table["mode"]):
        part = table[table["mode"] == mode]
        proteins = list(dict.fromkeys(part["protein"]))
        models = list(dict.fromkeys(part["model"]))
        text += f"\n### {mode} mode: RMSE (median ± MAD)\n\n"
        text += _matrix(part, "model", "protein", models, proteins,
                        lambda r: f"{r['l2_median']:.4f} ± {r['l2_mad']:.4f}")
        text += f"\n### {mode} mode: latent NLL (median ± MAD)\n\n"
        text += _matrix(part[part["model"] != NEAREST_NEIGHBOUR], "model", "protein",
                        [m for m in models if m != NEAREST_NEIGHBOUR], proteins,
                        lambda r: f"{r['nll_median']:.1f} ± {r['nll_mad']:.1f}")
    write_table(table, text, out, "table3")
    return table


def table4_all_proteins(models: Mapping[str, str | Path], out: str | Path, *,
                        evaluator: str = EVALUATOR) -> pd.DataFrame:
    """Table 4 (beyond the paper): C2ST of each multi-protein model's joint samples (red + every green
    for one latent) against the simulator's all-proteins truth, at the final iteration."""
    check_table_path(out)
    if not models:
        raise BiogansError("table 4: no joint C2ST files given")
    cells, others = [], []
    for model, path in models.items():
        if read_results(path, allow_empty=True).empty:  # an external set of other than all-protein cells
            others.append(model)
            continue
        rows = final_block(c2st_rows(path, evaluator), path)
        cells.append({"model": model, **_stats(_one_comparison(rows, "all_proteins", "generated", path))})
    if not cells:
        raise BiogansError(f"table 4: no all-protein cells in {', '.join(map(str, models.values()))}")
    table = pd.DataFrame(cells)
    text = title("Table 4: joint samples against the all-proteins truth",
                  f"{EVALUATOR_NAMES[evaluator]} C2ST score of each model's joint samples (one red with every "
                  "protein's green, for one latent) against simulated cells imaged with all proteins at once, "
                  f"mean ± std over {_split_count(table)} splits. Lower is better."
                  + (f" No row for {', '.join(others)}: not all-protein cells." if others else ""))
    text += "\n" + markdown(["model", "score (mean ± std)", "accuracy", "splits"],
                      [[r["model"], _mean_std(r), f"{r['accuracy']:.2f}", str(r["n_splits"])]
                       for _, r in table.iterrows()])
    write_table(table, text, out, "table4")
    return table[list(COLUMNS["table4"])]


# --------------------------------------------------------------------------- writing

def markdown_path(out: str | Path) -> Path:
    """The Markdown rendering beside a table file: same stem, ``.md``."""
    return Path(out).with_suffix(".md")


def check_table_path(out: str | Path) -> Path:
    out = Path(out)
    if out.suffix != ".csv":
        raise BiogansError(f"{out}: a table file must end in .csv")
    return out


def write_table(table: pd.DataFrame, markdown: str, out: str | Path, name: str) -> None:
    """Write a table's CSV (its :data:`COLUMNS`) and Markdown atomically: both appear, or neither."""
    out = check_table_path(out)
    with atomic_path(out) as csv_tmp, atomic_path(markdown_path(out)) as md_tmp:
        table.loc[:, list(COLUMNS[name])].to_csv(csv_tmp, index=False, float_format="%.6g")
        md_tmp.write_text(markdown)


def title(title: str, what: str) -> str:
    return f"# {title}\n\n{what}\n"


def _split_count(table: pd.DataFrame) -> str:
    counts = sorted(set(table["n_splits"]))
    return str(counts[0]) if len(counts) == 1 else f"{counts[0]}-{counts[-1]}"


def _mean_std(row: pd.Series) -> str:
    return f"{row['mean']:.2f} ± {row['std']:.2f}"


def _matrix(table: pd.DataFrame, row_key: str, column_key: str, rows: Sequence[str], columns: Sequence[str],
            cell) -> str:
    """A Markdown matrix: one row per ``rows`` value, one column per ``columns`` value, ``cell(row)`` text."""
    lookup = {(r[row_key], r[column_key]): r for _, r in table.iterrows()}
    body = [[row, *(cell(lookup[row, column]) if (row, column) in lookup else "" for column in columns)]
            for row in rows]
    return markdown([f"{row_key} \\ {column_key}", *columns], body)


def markdown(header: Sequence[str], body: Sequence[Sequence[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join(["---"] * len(header)) + "|"]
    lines += ["| " + " | ".join(str(x) for x in row) + " |" for row in body]
    return "\n".join(lines) + "\n"
