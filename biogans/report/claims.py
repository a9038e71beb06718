"""The reproduction scorecard: each finding of the paper, what the paper reported, what this run
measured, the test applied and whether it held.

It only reads the tables the workflow built; it never changes a setting to make a claim hold. A
claim whose table is absent (Table 4 on real data) is reported as not applicable.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from biogans.errors import BiogansError
from biogans.files import atomic_path, read_csv
from biogans.report.tables import (
    REAL_VS_REAL,
    check_table_path,
    markdown,
    markdown_path,
    title,
)

COLUMNS = ("id", "claim", "paper", "ours", "test", "held")
#: Proteins that share a localisation (the paper's Table 1: each is the other's nearest).
PARTNERS = (("Arp3", "Fim1", "actin patches"), ("Tea1", "Tea4", "the cell-end complex"))


@dataclass(frozen=True)
class Claim:
    id: str
    claim: str
    paper: str
    ours: str
    test: str
    held: bool | None  # None: not applicable (its table is absent)

    def row(self) -> dict:
        held = "not applicable" if self.held is None else ("held" if self.held else "not held")
        return {"id": self.id, "claim": self.claim, "paper": self.paper, "ours": self.ours, "test": self.test,
                "held": held}


# --------------------------------------------------------------------------- Table 1

def table1_claims(table: pd.DataFrame) -> list[Claim]:
    diagonal = table[table["protein_a"] == table["protein_b"]]
    pairs = table[table["protein_a"] != table["protein_b"]]
    worst = diagonal.loc[diagonal["mean"].abs().idxmax()]
    floor = diagonal["mean"].abs().max()
    margins = pairs["mean"] - (floor + 2 * pairs["std"])
    closest = pairs.loc[margins.idxmin()]
    claims = [
        Claim("table1-same", "Cells of one protein cannot be told from other cells of the same protein: the "
              "diagonal of Table 1 is about 0",
              "diagonal -0.6 to 0.8 (e.g. Arp3 0.8 ± 0.4, Sid2 -0.6 ± 0.3)",
              f"diagonal {diagonal['mean'].min():.2f} to {diagonal['mean'].max():.2f}; largest |mean| "
              f"{worst['protein_a']} {worst['mean']:.2f} ± {worst['std']:.2f}",
              "every diagonal |mean| < 2 x its std over splits",
              bool((diagonal["mean"].abs() < 2 * diagonal["std"]).all())),
        Claim("table1-different", "Every pair of different proteins is told apart",
              "off-diagonal 2.8 (Arp3 vs Fim1) to 23.9",
              f"off-diagonal {pairs['mean'].min():.2f} to {pairs['mean'].max():.2f}; closest to the bar: "
              f"{closest['protein_a']} vs {closest['protein_b']} {closest['mean']:.2f} ± {closest['std']:.2f} "
              f"(bar {floor:.2f} + 2 std)",
              "every off-diagonal mean > the largest diagonal |mean| + 2 x its std over splits",
              bool((margins > 0).all())),
    ]
    symmetric = _symmetric(pairs)
    for first, second, what in PARTNERS:
        if first not in symmetric.index or second not in symmetric.index:
            claims.append(Claim(f"table1-{first}-{second}".lower(), f"{first} and {second} ({what}) are each "
                                "other's nearest protein", "", "not in the table", "", None))
            continue
        nearest = {p: symmetric.loc[p].drop(p).idxmin() for p in (first, second)}
        claims.append(Claim(
            f"table1-{first}-{second}".lower(), f"{first} and {second} ({what}) are each other's nearest protein",
            {"Arp3": "Arp3-Fim1 2.8 / 3.7, the smallest of both rows",
             "Tea1": "Tea1-Tea4 5.9 / 6.9, the smallest of both rows"}[first],
            f"nearest to {first}: {nearest[first]} ({symmetric.loc[first, nearest[first]]:.2f}); nearest to "
            f"{second}: {nearest[second]} ({symmetric.loc[second, nearest[second]]:.2f})",
            "each is the other's argmin of the mean of both directions' scores",
            nearest[first] == second and nearest[second] == first))
    return claims


def _symmetric(pairs: pd.DataFrame) -> pd.DataFrame:
    """Protein x protein: the mean of the scores of (A, B) and (B, A)."""
    matrix = pairs.pivot(index="protein_a", columns="protein_b", values="mean")
    proteins = sorted(set(matrix.index) | set(matrix.columns))
    matrix = matrix.reindex(index=proteins, columns=proteins)
    return (matrix + matrix.T) / 2


# --------------------------------------------------------------------------- Figure 8

def figure8_claims(scores: pd.DataFrame) -> list[Claim]:
    curves = scores[scores["model"] != REAL_VS_REAL].dropna(subset=["iteration"])
    claims = []
    for evaluator in dict.fromkeys(curves["evaluator"]):
        part = curves[curves["evaluator"] == evaluator]
        models = [m for m in ("wgangp", "wgangp-sep") if m in set(part["model"])]
        if not models:
            continue
        lines, held = [], True
        for model in models:
            one = part[part["model"] == model]
            first, last = one["iteration"].min(), one["iteration"].max()
            early, late = one[one["iteration"] == first]["score"], one[one["iteration"] == last]["score"]
            held &= bool(late.quantile(0.9) < early.quantile(0.1))
            lines.append(f"{model} {early.median():.2f} at {first} -> {late.median():.2f} at {last}")
        claims.append(Claim(
            f"figure8-{evaluator}-improves", f"Under the {evaluator} evaluator, the WGAN-GP models' samples get "
            "closer to the real cells as training goes on", "falling curves in Figure 8",
            "; ".join(lines), "the last checkpoint's 90th percentile over splits < the first's 10th",
            held))
    wgangp = curves[curves["evaluator"] == "wgangp"]
    if {"wgangp-sep", "gan-sep"} <= set(wgangp["model"]):
        last = {m: wgangp[(wgangp["model"] == m) & (wgangp["iteration"] == wgangp[wgangp["model"] == m]
                                                     ["iteration"].max())]["score"].median()
                for m in ("wgangp-sep", "gan-sep")}
        real = scores[(scores["model"] == REAL_VS_REAL) & (scores["evaluator"] == "wgangp")]["score"]
        claims.append(Claim(
            "figure8-wgangp-beats-gan", "The separable WGAN-GP model ends closer to the real cells than the "
            "separable GAN (WGAN-GP evaluator)", "1.6 vs 3.2 at 50k iterations (real cells -0.7)",
            f"{last['wgangp-sep']:.2f} vs {last['gan-sep']:.2f} at the last checkpoint"
            + (f" (real cells {real.median():.2f})" if len(real) else ""),
            "median at the last checkpoint: wgangp-sep < gan-sep", bool(last["wgangp-sep"] < last["gan-sep"])))
    return claims


# --------------------------------------------------------------------------- Tables 2, 3, 4

def table2_claims(table: pd.DataFrame) -> list[Claim]:
    overall = table[table["protein"] == "all"].set_index("model")["mean"]
    low = [m for m in overall.index if "independent" in m or "star" in m]
    high = [m for m in overall.index if "multichannel" in m]
    if not low or not high:
        return [Claim("table2-ordering", "Star-shaped and independent models beat multi-channel ones", "", "",
                      "", None)]
    return [Claim(
        "table2-ordering", "Star-shaped and independent models score below (better than) the multi-channel ones",
        "independent 0.76, independent-sep 1.15, star 1.41 < multi-channel 3.72, 3.82",
        ", ".join(f"{m} {overall[m]:.2f}" for m in [*low, *high]),
        "max over independent and star-shaped < min over multi-channel (`all` column)",
        bool(overall[low].max() < overall[high].min()))]


def table3_claims(table: pd.DataFrame) -> list[Claim]:
    overall = table[table["protein"] == "all"]
    claims = []
    for mode in dict.fromkeys(overall["mode"]):
        l2 = overall[overall["mode"] == mode].set_index("model")["l2_median"]
        wgangp = [m for m in l2.index if m.startswith("wgangp-")]
        gan = [m for m in l2.index if m.startswith("gan-")]
        nn = l2.get("nearest_neighbour", np.nan)
        ours = ", ".join(f"{m} {l2[m]:.3f}" for m in [*wgangp, *gan]) + f"; nearest training cell {nn:.3f}"
        claims.append(Claim(
            f"table3-{mode}", f"WGAN-GP models reconstruct held-out cells better than GAN models and than the "
            f"nearest training cell ({mode} reconstruction)",
            "L2 0.041, 0.043 (WGAN-GP) < 0.053, 0.061 (GAN) < 0.079 (nearest training cell)", ours,
            "max L2 median over WGAN-GP models < min over GAN models and < the nearest training cell's",
            bool(wgangp and gan and l2[wgangp].max() < min(l2[gan].min(), nn))))
    return claims


def table4_claims(table: pd.DataFrame | None) -> list[Claim]:
    claim = "The star-shaped model draws the joint distribution of the proteins closer to the truth than the " \
            "independent and multi-channel models (beyond the paper: the simulator's all-proteins truth)"
    if table is None or "wgangp-star" not in set(table["model"]):
        return [Claim("table4-star", claim, "not measured (no microscope images all proteins at once)",
                      "no Table 4 (real data)", "", None)]
    rows = table.set_index("model")
    star = rows.loc["wgangp-star"]
    others = [m for m in rows.index if "independent" in m or "multichannel" in m]
    gaps = {m: rows.loc[m, "mean"] - star["mean"] - max(rows.loc[m, "std"], star["std"]) for m in others}
    return [Claim("table4-star", claim, "not measured (no microscope images all proteins at once)",
                  f"wgangp-star {star['mean']:.2f} ± {star['std']:.2f}; " + ", ".join(
                      f"{m} {rows.loc[m, 'mean']:.2f} ± {rows.loc[m, 'std']:.2f}" for m in others),
                  "every other model's mean > the star's mean + the larger of the two stds",
                  bool(others) and all(gap > 0 for gap in gaps.values()))]


#: Table 5's architectures with a WGAN-GP and a GAN model: the KID claim compares each such pair.
KID_PAIRS = ("", "-sep", "-star", "-independent", "-independent-sep")


def table5_claims(table: pd.DataFrame | None) -> list[Claim]:
    claim = "Under KID on the project's own features, the WGAN-GP models score better than the GAN models of the " \
            "same architecture, as they do under the C2ST (beyond the paper)"
    kid = {} if table is None else table[table["protein"] == "all"].set_index("model")["kid_mean"]
    pairs = [(f"wgangp{a}", f"gan{a}") for a in KID_PAIRS if f"wgangp{a}" in kid and f"gan{a}" in kid]
    if not pairs:
        return [Claim("table5-kid-wgangp-beats-gan", claim, "not measured", "no pair of models in Table 5", "",
                      None)]
    return [Claim("table5-kid-wgangp-beats-gan", claim, "not measured (the paper reports the C2ST only)",
                  "; ".join(f"{w} {kid[w]:.3f} vs {g} {kid[g]:.3f}" for w, g in pairs),
                  "KID (`all` row) of each WGAN-GP model < its GAN counterpart's",
                  all(kid[w] < kid[g] for w, g in pairs))]


# --------------------------------------------------------------------------- the scorecard

READERS: dict[str, tuple[Callable, dict]] = {
    "table1": (table1_claims, dict(numbers=("mean", "std"), texts=("protein_a", "protein_b"))),
    "figure8": (figure8_claims, dict(numbers=("score",), integers=("iteration", "split"),
                                     texts=("model", "evaluator"))),
    "table2": (table2_claims, dict(numbers=("mean", "std"), texts=("model", "protein"))),
    "table3": (table3_claims, dict(numbers=("l2_median",), texts=("mode", "model", "protein"))),
}


def scorecard(tables: dict[str, str | Path], out: str | Path) -> pd.DataFrame:
    """Every claim from the workflow's tables (``tables`` maps table1, figure8, table2, table3 and, when
    there are, table4 and table5 to their CSVs), written as ``out`` (CSV) and its Markdown."""
    out = check_table_path(out)
    missing = [name for name in READERS if name not in tables]
    if missing:
        raise BiogansError(f"claims: no {', '.join(missing)} table given")
    claims = []
    for name, (claims_of, columns) in READERS.items():
        claims += claims_of(read_csv(tables[name], f"{name} table", **columns))
    table4 = tables.get("table4")
    claims += table4_claims(read_csv(table4, "table4 table", numbers=("mean", "std"), texts=("model",))
                            if table4 else None)
    table5 = tables.get("table5")
    claims += table5_claims(read_csv(table5, "table5 table", numbers=("kid_mean",), texts=("model", "protein"))
                            if table5 else None)
    frame = pd.DataFrame([c.row() for c in claims], columns=list(COLUMNS))
    held = frame["held"].value_counts()
    text = title("Reproduction scorecard",
                 f"Each finding of the paper and whether this run shows it: {held.get('held', 0)} held, "
                 f"{held.get('not held', 0)} not held, {held.get('not applicable', 0)} not applicable. The tests only "
                 "read the tables; nothing is tuned to make a claim hold.")
    text += "\n" + markdown(["claim", "paper", "ours", "test", "held"],
                            [[r["claim"], r["paper"], r["ours"], r["test"], r["held"]] for _, r in frame.iterrows()])
    with atomic_path(out) as csv_tmp, atomic_path(markdown_path(out)) as md_tmp:
        frame.to_csv(csv_tmp, index=False)
        md_tmp.write_text(text)
    return frame
