"""Figure 8: the C2ST score of the joint models against their generator iterations, one panel per
evaluator, over the real baseline (the pooled test cells against the pooled training cells); and the
figure's long table ``model,evaluator,iteration,split,score`` (the baseline's rows: model
``real_vs_real``, no iteration)."""

from __future__ import annotations

import contextlib
from collections.abc import Sequence
from pathlib import Path

import pandas as pd
from matplotlib.figure import Figure
from matplotlib.ticker import NullFormatter

from biogans.errors import BiogansError
from biogans.evaluate.options import EVALUATORS
from biogans.files import atomic_path
from biogans.report.canvas import DPI, check_png, save_figure
from biogans.report.tables import (
    COLUMNS,
    EVALUATOR_NAMES,
    REAL_VS_REAL,
    c2st_rows,
    check_table_path,
    markdown,
    markdown_path,
    title,
)

#: The percentiles of the band around each median over splits (the paper's error bars).
BAND = (0.1, 0.9)


def figure8_c2st_vs_iterations(runs: Sequence[tuple[str, str | Path]], out: str | Path,
                               table: str | Path | None = None,
                               baseline: Sequence[str | Path] = ()) -> pd.DataFrame:
    """C2ST score against generator iteration for joint models: one panel per evaluator, per model the
    median over splits with its 10-90 percentile band, log iteration axis, and the real baseline's median
    and band across the panel (``baseline``: train-vs-test C2ST files); optionally the long table and its
    Markdown. Returns the long table."""
    check_png(out)
    scores = c2st_vs_iterations(runs, baseline)
    curves, floor = scores[scores["model"] != REAL_VS_REAL], scores[scores["model"] == REAL_VS_REAL]
    evaluators = list(dict.fromkeys(scores["evaluator"]))
    figure = Figure(figsize=(4.2 * len(evaluators), 4.2), dpi=DPI, layout="constrained")
    axes = figure.subplots(1, len(evaluators), squeeze=False)[0]
    models = list(dict.fromkeys(curves["model"]))
    for ax, evaluator in zip(axes, evaluators, strict=True):
        _draw_panel(ax, curves[curves["evaluator"] == evaluator], floor[floor["evaluator"] == evaluator], models)
        ax.set_title(f"{EVALUATOR_NAMES.get(evaluator, evaluator)} evaluator")
    axes[0].set_ylabel("C2ST score (lower is better)")
    handles, labels = axes[0].get_legend_handles_labels()
    figure.legend(handles, labels, loc="outside lower center", ncols=min(len(labels), 7), frameon=False)
    with contextlib.ExitStack() as stack:
        if table is not None:
            table = check_table_path(table)
            csv_tmp = stack.enter_context(atomic_path(table))
            md_tmp = stack.enter_context(atomic_path(markdown_path(table)))
            scores.to_csv(csv_tmp, index=False, float_format="%.6g")
            md_tmp.write_text(c2st_vs_iterations_markdown(scores))
        save_figure(figure, out)
    return scores


def _draw_panel(ax, curves: pd.DataFrame, floor: pd.DataFrame, models: Sequence[str]) -> None:
    quantiles = curves.groupby(["model", "iteration"], sort=False)["score"].quantile([BAND[0], 0.5, BAND[1]])
    quantiles = quantiles.unstack()
    for model in models:
        if model not in quantiles.index.get_level_values("model"):
            continue
        q = quantiles.loc[model].sort_index()
        colour, style = _model_style(model, models)
        ax.plot(q.index, q[0.5], style, color=colour, marker="o", markersize=3, label=model)
        ax.fill_between(q.index, q[BAND[0]], q[BAND[1]], color=colour, alpha=0.15, linewidth=0)
    if not floor.empty:
        low, median, high = floor["score"].quantile([BAND[0], 0.5, BAND[1]])
        ax.axhline(median, color="black", linestyle=":", linewidth=1, label="real cells (test vs train)")
        ax.axhspan(low, high, color="black", alpha=0.08, linewidth=0)
    ax.set_xscale("log")
    iterations = sorted(set(curves["iteration"]))
    ax.set_xticks(iterations, [_short_count(i) for i in iterations], fontsize="small",
                  rotation=45 if len(iterations) > 6 else 0)
    ax.xaxis.set_minor_formatter(NullFormatter())
    ax.set_xlabel("generator iteration")
    ax.grid(True, which="major", alpha=0.3)


def c2st_vs_iterations(runs: Sequence[tuple[str, str | Path]], baseline: Sequence[str | Path] = ()) -> pd.DataFrame:
    """Figure 8's long table: every (model, evaluator, iteration, split) score of the joint models'
    fake-vs-real files (rows ``all`` vs ``generated``), then the real baseline's rows (``test`` vs
    ``train``; model ``real_vs_real``, iteration empty). ``runs`` pairs a model name with a file; a
    model may have several files (one per evaluator) and must cover every evaluator found."""
    if not runs:
        raise BiogansError("figure 8: no C2ST files given")
    frames, seen = [], {}
    for model, path in runs:
        rows = _picked(c2st_rows(path, evaluator=None), "all", "generated", path)
        if rows["iteration"].isna().any():
            raise BiogansError(f"{path}: rows without a generator iteration")
        for evaluator in pd.unique(rows["evaluator"]):
            if (model, evaluator) in seen:
                raise BiogansError(f"{path}: {evaluator} rows of model {model} are also in {seen[model, evaluator]}")
            seen[model, evaluator] = path
        frames.append(rows.assign(model=model))
    evaluators = [e for e in EVALUATORS if e in set(pd.concat(frames)["evaluator"])]
    for model in dict.fromkeys(m for m, _ in runs):
        missing = [e for e in evaluators if (model, e) not in seen]
        if missing:
            files = ", ".join(str(p) for m, p in runs if m == model)
            raise BiogansError(f"{files}: model {model} has no {', '.join(missing)} evaluator rows "
                               "(other models have them)")
    frames += [_picked(c2st_rows(path, evaluator=None), "test", "train", path).assign(model=REAL_VS_REAL)
               for path in baseline]
    table = pd.concat(frames, ignore_index=True)
    table["evaluator"] = pd.Categorical(table["evaluator"], evaluators, ordered=True)
    order = [*dict.fromkeys(m for m, _ in runs), REAL_VS_REAL]
    table["model"] = pd.Categorical(table["model"], order, ordered=True)
    table = table.dropna(subset=["evaluator"]).sort_values(["evaluator", "model", "iteration", "split"], kind="stable")
    table = table.astype({"evaluator": str, "model": str})
    return table.loc[:, list(COLUMNS["figure8"])].reset_index(drop=True)


def _picked(rows: pd.DataFrame, protein: str, versus: str, path: str | Path) -> pd.DataFrame:
    picked = rows[(rows["protein"] == protein) & (rows["versus"] == versus)]
    if picked.empty:
        raise BiogansError(f"{path}: no rows for {protein} versus {versus}")
    duplicated = picked.duplicated(["evaluator", "iteration", "split"])
    if duplicated.any():
        first = picked[duplicated].iloc[0]
        raise BiogansError(f"{path}: {first['evaluator']} iteration {first['iteration']} split {first['split']} "
                           "appears twice")
    return picked


def c2st_vs_iterations_markdown(table: pd.DataFrame) -> str:
    """Figure 8's numbers for people: per evaluator, the median score over splits per model and iteration,
    and the real baseline's median."""
    text = title("Figure 8: C2ST score against generator iterations",
                 "Median over splits of the fake-vs-real C2ST score of each joint model's samples at each "
                 "saved generator iteration, one table per evaluator. Lower is better; `real_vs_real` (real "
                 "test cells against real training cells) is the floor.")
    medians = table.groupby(["evaluator", "model", "iteration"], sort=False, dropna=False)["score"].median()
    for evaluator in dict.fromkeys(table["evaluator"]):
        part = medians.loc[evaluator]
        iterations = sorted(i for i in set(part.index.get_level_values("iteration")) if not pd.isna(i))
        text += f"\n### {EVALUATOR_NAMES.get(evaluator, evaluator)} evaluator\n\n"
        rows = []
        for model in dict.fromkeys(part.index.get_level_values("model")):
            values = part.loc[model]
            if model == REAL_VS_REAL:
                rows.append([model, *[f"{values.iloc[0]:.3f}"] * len(iterations)])
            else:
                rows.append([model, *(f"{values[i]:.3f}" if i in values.index else "" for i in iterations)])
        text += markdown(["model", *map(str, iterations)], rows)
    return text


def _short_count(n: int) -> str:
    """1000 -> '1k', 500000 -> '500k', 100 -> '100': iteration tick labels."""
    return f"{n // 1000}k" if n >= 1000 and n % 1000 == 0 else str(n)


def _model_style(model: str, models: Sequence[str]) -> tuple[str, str]:
    """One colour per objective (gan, wgan, wgangp), dashed for separable variants; other names cycle."""
    base, separable = (model[:-4], True) if model.endswith("-sep") else (model, False)
    palette = {"gan": "tab:red", "wgan": "tab:blue", "wgangp": "tab:green"}
    colour = palette.get(base, f"C{3 + models.index(model) % 7}")
    return colour, "--" if separable else "-"
