"""Figure 8: the C2ST score of the joint models against their generator iterations, one panel per evaluator."""

from __future__ import annotations

import contextlib
from collections.abc import Sequence
from pathlib import Path

import pandas as pd
from matplotlib.figure import Figure
from matplotlib.ticker import NullFormatter

from biogans.files import atomic_path
from biogans.report.canvas import DPI, check_png, save_figure
from biogans.report.tables import (
    EVALUATOR_NAMES,
    c2st_vs_iterations,
    c2st_vs_iterations_markdown,
    check_table_path,
    markdown_path,
)


def figure8_c2st_vs_iterations(runs: Sequence[tuple[str, str | Path]], out: str | Path,
                               table: str | Path | None = None) -> pd.DataFrame:
    """C2ST score against generator iteration for joint models: one panel per evaluator, per model the
    median over splits with its 10-90 percentile band, log iteration axis; optionally the long table
    (``model,evaluator,iteration,split,score``) and its Markdown. Returns the long table."""
    check_png(out)
    scores = c2st_vs_iterations(runs)
    evaluators = list(dict.fromkeys(scores["evaluator"]))
    figure = Figure(figsize=(4.2 * len(evaluators), 4.2), dpi=DPI, layout="constrained")
    axes = figure.subplots(1, len(evaluators), squeeze=False)[0]
    quantiles = scores.groupby(["evaluator", "model", "iteration"], sort=False)["score"].quantile([0.1, 0.5, 0.9])
    quantiles = quantiles.unstack()
    models = list(dict.fromkeys(scores["model"]))
    for ax, evaluator in zip(axes, evaluators):
        for model in models:
            if (evaluator, model) not in quantiles.index.droplevel("iteration"):
                continue
            q = quantiles.loc[(evaluator, model)].sort_index()
            colour, style = _model_style(model, models)
            ax.plot(q.index, q[0.5], style, color=colour, marker="o", markersize=3, label=model)
            ax.fill_between(q.index, q[0.1], q[0.9], color=colour, alpha=0.15, linewidth=0)
        ax.set_xscale("log")
        iterations = sorted(set(scores.loc[scores["evaluator"] == evaluator, "iteration"]))
        ax.set_xticks(iterations, [_short_count(i) for i in iterations], fontsize="small",
                      rotation=45 if len(iterations) > 6 else 0)
        ax.xaxis.set_minor_formatter(NullFormatter())
        ax.set_title(f"{EVALUATOR_NAMES.get(evaluator, evaluator)} evaluator")
        ax.set_xlabel("generator iteration")
        ax.grid(True, which="major", alpha=0.3)
    axes[0].set_ylabel("C2ST score (lower is better)")
    handles, labels = axes[0].get_legend_handles_labels()
    figure.legend(handles, labels, loc="outside lower center", ncols=min(len(models), 6), frameon=False)
    with contextlib.ExitStack() as stack:
        if table is not None:
            table = check_table_path(table)
            csv_tmp = stack.enter_context(atomic_path(table))
            md_tmp = stack.enter_context(atomic_path(markdown_path(table)))
            scores.to_csv(csv_tmp, index=False, float_format="%.6g")
            md_tmp.write_text(c2st_vs_iterations_markdown(scores))
        save_figure(figure, out)
    return scores


def _short_count(n: int) -> str:
    """1000 -> '1k', 500000 -> '500k', 100 -> '100': iteration tick labels."""
    return f"{n // 1000}k" if n >= 1000 and n % 1000 == 0 else str(n)


def _model_style(model: str, models: Sequence[str]) -> tuple[str, str]:
    """One colour per objective (gan, wgan, wgangp), dashed for separable variants; other names cycle."""
    base, separable = (model[:-4], True) if model.endswith("-sep") else (model, False)
    palette = {"gan": "tab:red", "wgan": "tab:blue", "wgangp": "tab:green"}
    colour = palette.get(base, f"C{3 + models.index(model) % 7}")
    return colour, "--" if separable else "-"
