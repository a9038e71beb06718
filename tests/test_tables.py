"""The paper's tables: exact columns and rows, statistics over splits, Markdown, refusals of bad input,
and the ``biogans table`` command. Inputs are real CSV files in the C2ST and reconstruction formats."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from biogans.cli import main
from biogans.errors import BiogansError
from biogans.report.figure8 import c2st_vs_iterations
from biogans.report.tables import (
    COLUMNS,
    table1_real_vs_real,
    table2_conditional,
    table3_reconstruction,
    table4_all_proteins,
)

PROTEINS = ["Alp14", "Arp3", "Sid2"]
SPLITS = 5
C2ST_COLUMNS = ["evaluator", "iteration", "protein", "versus", "split", "score", "accuracy", "p_value"]


def c2st_frame(rng, evaluators, iterations, pairs, splits=SPLITS) -> pd.DataFrame:
    """Per-split C2ST rows for every evaluator, iteration (None: real-vs-real) and (protein, versus)."""
    rows = [dict(evaluator=e, iteration=i, protein=p, versus=v, split=s, score=rng.normal(1, 2),
                 accuracy=rng.uniform(0.4, 1), p_value=rng.uniform())
            for e in evaluators for i in iterations for p, v in pairs for s in range(splits)]
    return pd.DataFrame(rows, columns=C2ST_COLUMNS).astype({"iteration": "Int64"})


def write_real(tmp_path, rng, proteins=PROTEINS, evaluators=("wgangp", "gan")) -> tuple[list, pd.DataFrame]:
    """One real-vs-real file per protein A (rows A versus every B), as `biogans c2st real-vs-real` writes."""
    paths, frames = [], []
    for a in proteins:
        frame = c2st_frame(rng, evaluators, [None], [(a, b) for b in proteins])
        path = tmp_path / "real" / f"{a}.csv"
        path.parent.mkdir(exist_ok=True)
        frame.to_csv(path, index=False)
        paths.append(path)
        frames.append(frame)
    return paths, pd.concat(frames, ignore_index=True)


def write_fake(tmp_path, rng, model, proteins=PROTEINS, iterations=(100, 400)) -> tuple:
    frame = c2st_frame(rng, ["wgangp"], iterations, [(p, "generated") for p in [*proteins, "all"]])
    path = tmp_path / "fake" / model / "wgangp.csv"
    path.parent.mkdir(parents=True, exist_ok=True)
    frame.to_csv(path, index=False)
    return path, frame


def stats(scores) -> tuple[float, float, int]:
    scores = np.asarray(scores, dtype=float)
    return scores.mean(), scores.std(ddof=0), len(scores)  # the paper's np.std


def check_row(row, scores):
    mean, std, n = stats(scores)
    assert row["mean"] == pytest.approx(mean, rel=1e-5)
    assert row["std"] == pytest.approx(std, rel=1e-5)
    assert row["n_splits"] == n


def assert_no_output(out):
    assert not out.exists() and not out.with_suffix(".md").exists()
    assert not list(out.parent.glob(".*.tmp"))


# --------------------------------------------------------------------------- table 1

def test_table1_has_every_ordered_pair_with_split_statistics(tmp_path):
    rng = np.random.default_rng(0)
    paths, truth = write_real(tmp_path, rng)
    out = tmp_path / "tables" / "table1_real_vs_real.csv"
    returned = table1_real_vs_real(paths, out)

    table = pd.read_csv(out)
    assert list(table.columns) == list(COLUMNS["table1"]) == ["protein_a", "protein_b", "mean", "std", "n_splits"]
    assert list(zip(table["protein_a"], table["protein_b"], strict=True)) == [
        (a, b) for a in PROTEINS for b in PROTEINS]
    wgangp = truth[truth["evaluator"] == "wgangp"]
    for _, row in table.iterrows():
        pair = (wgangp["protein"] == row["protein_a"]) & (wgangp["versus"] == row["protein_b"])
        check_row(row, wgangp[pair]["score"])
    markdown = out.with_suffix(".md").read_text()
    assert "WGAN-GP" in markdown and f"{SPLITS} splits" in markdown
    first = returned.iloc[1]
    assert f"{first['mean']:.2f} ± {first['std']:.2f}" in markdown
    assert markdown.count("\n| Arp3 |") == 2  # a row of the score matrix and of the accuracy matrix
    assert "| protein_b \\ protein_a | Alp14 | Arp3 | Sid2 |" in markdown


def test_table1_is_printed_as_the_paper_does_with_the_population_std(tmp_path):
    """Two proteins, two splits, known scores: protein A is the column, B the row, std with ddof 0."""
    scores = {("Alp14", "Alp14"): (0.0, 0.2), ("Alp14", "Arp3"): (3.0, 5.0),
              ("Arp3", "Alp14"): (7.0, 8.0), ("Arp3", "Arp3"): (0.1, 0.3)}
    paths = []
    for a in ("Alp14", "Arp3"):
        rows = [dict(evaluator="wgangp", iteration=None, protein=a, versus=b, split=s, score=scores[a, b][s],
                     accuracy=0.5, p_value=0.5) for b in ("Alp14", "Arp3") for s in range(2)]
        paths.append(tmp_path / f"{a}.csv")
        pd.DataFrame(rows, columns=C2ST_COLUMNS).to_csv(paths[-1], index=False)
    out = tmp_path / "t1.csv"
    table = table1_real_vs_real(paths, out)
    row = table[(table["protein_a"] == "Alp14") & (table["protein_b"] == "Arp3")].iloc[0]
    assert (row["mean"], row["std"]) == (4.0, 1.0)  # ddof 1 would give 1.41
    lines = out.with_suffix(".md").read_text().splitlines()
    header = next(i for i, line in enumerate(lines) if line.startswith("| protein_b \\ protein_a"))
    assert lines[header + 2] == "| Alp14 | 0.10 ± 0.10 | 7.50 ± 0.50 |"  # B = Alp14: A = Alp14, then A = Arp3
    assert lines[header + 3] == "| Arp3 | 4.00 ± 1.00 | 0.20 ± 0.10 |"


def test_table1_other_evaluator_and_protein_order(tmp_path):
    rng = np.random.default_rng(1)
    paths, truth = write_real(tmp_path, rng)
    out = tmp_path / "t1.csv"
    table = table1_real_vs_real(paths, out, proteins=["Sid2", "Alp14"], evaluator="gan")
    assert list(zip(table["protein_a"], table["protein_b"], strict=True)) == [
        ("Sid2", "Sid2"), ("Sid2", "Alp14"), ("Alp14", "Sid2"), ("Alp14", "Alp14")]
    gan = truth[(truth["evaluator"] == "gan") & (truth["protein"] == "Sid2") & (truth["versus"] == "Alp14")]
    check_row(table.iloc[1], gan["score"])


def test_table1_refuses_missing_pairs_files_and_evaluators(tmp_path):
    rng = np.random.default_rng(2)
    paths, _ = write_real(tmp_path, rng, evaluators=("wgangp",))
    out = tmp_path / "t1.csv"
    with pytest.raises(BiogansError, match="Tea1"):
        table1_real_vs_real(paths, out, proteins=["Alp14", "Tea1"])
    with pytest.raises(BiogansError, match=r"Alp14\.csv: no gan evaluator rows \(has wgangp\)"):
        table1_real_vs_real(paths, out, evaluator="gan")
    with pytest.raises(BiogansError, match=r"missing\.csv: no such file"):
        table1_real_vs_real([*paths, tmp_path / "missing.csv"], out)
    # Alp14's file lacks Alp14 versus Sid2
    frame = pd.read_csv(paths[0])
    frame[frame["versus"] != "Sid2"].to_csv(paths[0], index=False)
    with pytest.raises(BiogansError, match=r"Alp14\.csv: no rows for Alp14 versus Sid2"):
        table1_real_vs_real(paths, out)
    assert_no_output(out)


def test_table1_refuses_a_comparison_given_twice(tmp_path):
    rng = np.random.default_rng(3)
    paths, _ = write_real(tmp_path, rng)
    copy = tmp_path / "copy.csv"
    copy.write_text(paths[0].read_text())
    with pytest.raises(BiogansError, match="given more than once"):
        table1_real_vs_real([*paths, copy], tmp_path / "t1.csv")


# --------------------------------------------------------------------------- table 2

def test_table2_reports_the_final_iteration_per_protein_and_all_with_real_reference(tmp_path):
    rng = np.random.default_rng(4)
    star, star_rows = write_fake(tmp_path, rng, "wgangp-star")
    independent, independent_rows = write_fake(tmp_path, rng, "wgangp-independent", iterations=(50, 1000, 500))
    real, real_rows = write_real(tmp_path, rng)
    out = tmp_path / "table2_conditional.csv"
    table2_conditional({"wgangp-star": star, "wgangp-independent": independent}, out, real_paths=real)

    table = pd.read_csv(out)
    assert list(table.columns) == list(COLUMNS["table2"]) == ["model", "protein", "mean", "std", "n_splits"]
    expected = [(m, p) for m in ("wgangp-star", "wgangp-independent", "real_vs_real") for p in [*PROTEINS, "all"]]
    assert list(zip(table["model"], table["protein"], strict=True)) == expected
    for model, rows, final in (("wgangp-star", star_rows, 400), ("wgangp-independent", independent_rows, 1000)):
        for protein in [*PROTEINS, "all"]:
            row = table[(table["model"] == model) & (table["protein"] == protein)].iloc[0]
            check_row(row, rows[(rows["iteration"] == final) & (rows["protein"] == protein)]["score"])
    wgangp = real_rows[(real_rows["evaluator"] == "wgangp") & (real_rows["protein"] == real_rows["versus"])]
    for protein in PROTEINS:
        check_row(table[(table["model"] == "real_vs_real") & (table["protein"] == protein)].iloc[0],
                  wgangp[wgangp["protein"] == protein]["score"])
    per_split = wgangp.groupby("split")["score"].mean()
    check_row(table.iloc[-1], per_split)

    markdown = out.with_suffix(".md").read_text()
    assert "Lower is better" in markdown
    assert "| protein \\ model | wgangp-star | wgangp-independent | real_vs_real |" in markdown  # the paper's layout
    last = table.iloc[-1]
    assert "| all | " in markdown and f"{last['mean']:.2f} ± {last['std']:.2f}" in markdown


def test_table2_without_reference_and_refusals(tmp_path):
    rng = np.random.default_rng(5)
    star, rows = write_fake(tmp_path, rng, "wgangp-star")
    out = tmp_path / "t2.csv"
    table = table2_conditional({"wgangp-star": star}, out)
    assert set(table["model"]) == {"wgangp-star"} and len(table) == len(PROTEINS) + 1

    out = tmp_path / "bad" / "t2.csv"
    with pytest.raises(BiogansError, match=r"wgangp\.csv: no rows for Tea1 versus generated"):
        table2_conditional({"wgangp-star": star}, out, proteins=["Alp14", "Tea1"])
    no_all = tmp_path / "no_all.csv"
    rows[~((rows["protein"] == "all") & (rows["iteration"] == 400))].to_csv(no_all, index=False)
    with pytest.raises(BiogansError, match=r"no_all\.csv: no rows for all versus generated"):
        table2_conditional({"wgangp-star": star, "other": no_all}, out)
    real, _ = write_real(tmp_path, rng, proteins=["Alp14", "Arp3"])
    with pytest.raises(BiogansError, match="no real-vs-real rows for protein Sid2"):
        table2_conditional({"wgangp-star": star}, out, proteins=PROTEINS, real_paths=real)
    with pytest.raises(BiogansError, match="no generator iteration"):
        table2_conditional({"wgangp-star": real[0]}, out)
    assert_no_output(out)


# --------------------------------------------------------------------------- table 3

def write_cells(path, rng, proteins=PROTEINS, rows=range(6), nll_offset=0.0) -> pd.DataFrame:
    frame = pd.DataFrame([dict(protein=p, row=r, rmse=rng.uniform(0.02, 0.2), nll=rng.normal(140, 5) + nll_offset,
                               nn_rmse=0.05 + 0.01 * r + 0.1 * i, nn_row=r + 100)
                          for i, p in enumerate(proteins) for r in rows])
    path.parent.mkdir(parents=True, exist_ok=True)
    frame.to_csv(path, index=False)
    return frame


def median_mad(x):
    x = np.asarray(x, dtype=float)
    return np.median(x), np.median(np.abs(x - np.median(x)))


def test_table3_medians_mads_and_nearest_neighbour_rows(tmp_path):
    rng = np.random.default_rng(6)
    star = write_cells(tmp_path / "regular/wgangp-star/cells.csv", rng)
    sep = write_cells(tmp_path / "regular/wgangp-sep/cells.csv", rng, rows=range(3, 9))
    separable = write_cells(tmp_path / "separable/wgangp-star/cells.csv", rng)
    out = tmp_path / "table3_reconstruction.csv"
    table3_reconstruction({("regular", "wgangp-star"): tmp_path / "regular/wgangp-star/cells.csv",
                           ("regular", "wgangp-sep"): tmp_path / "regular/wgangp-sep/cells.csv",
                           ("separable", "wgangp-star"): tmp_path / "separable/wgangp-star/cells.csv"}, out)

    table = pd.read_csv(out)
    assert list(table.columns) == list(COLUMNS["table3"])
    groups = [*PROTEINS, "all"]
    expected = ([("regular", "wgangp-star", p) for p in groups] + [("regular", "wgangp-sep", p) for p in groups]
                + [("separable", "wgangp-star", p) for p in groups]
                + [("regular", "nearest_neighbour", p) for p in groups]
                + [("separable", "nearest_neighbour", p) for p in groups])
    assert list(zip(table["mode"], table["model"], table["protein"], strict=True)) == expected
    row = table[(table["mode"] == "regular") & (table["model"] == "wgangp-sep") & (table["protein"] == "Arp3")].iloc[0]
    part = sep[sep["protein"] == "Arp3"]
    assert (row["nll_median"], row["nll_mad"]) == pytest.approx(median_mad(part["nll"]), rel=1e-5)
    assert (row["l2_median"], row["l2_mad"]) == pytest.approx(median_mad(part["rmse"]), rel=1e-5)
    row = table[(table["mode"] == "separable") & (table["protein"] == "all")].iloc[0]
    assert (row["l2_median"], row["l2_mad"]) == pytest.approx(median_mad(separable["rmse"]), rel=1e-5)
    # nearest neighbours: every distinct held-out cell of the mode once (rows 0-8, not 3-5 twice)
    nn = table[(table["model"] == "nearest_neighbour") & (table["mode"] == "regular")]
    assert nn["nll_median"].isna().all() and nn["nll_mad"].isna().all()
    distinct = pd.concat([star, sep]).drop_duplicates(["protein", "row"])
    assert len(distinct) == 9 * len(PROTEINS)
    assert (nn.iloc[-1]["l2_median"], nn.iloc[-1]["l2_mad"]) == pytest.approx(
        median_mad(distinct["nn_rmse"]), rel=1e-5)
    assert nn.iloc[0]["l2_median"] == pytest.approx(np.median(distinct[distinct["protein"] == "Alp14"]["nn_rmse"]))
    markdown = out.with_suffix(".md").read_text()
    assert "### regular mode: RMSE" in markdown and "### separable mode: latent NLL" in markdown
    assert f"{nn.iloc[-1]['l2_median']:.4f}" in markdown


def test_table3_refusals(tmp_path):
    rng = np.random.default_rng(7)
    good = tmp_path / "cells.csv"
    write_cells(good, rng)
    out = tmp_path / "t3.csv"
    with pytest.raises(BiogansError, match=r"cells\.csv: unknown reconstruction mode 'fancy'"):
        table3_reconstruction({("fancy", "wgangp-star"): good}, out)
    with pytest.raises(BiogansError, match=r"absent\.csv: no such file"):
        table3_reconstruction({("regular", "a"): good, ("regular", "b"): tmp_path / "absent.csv"}, out)
    broken = tmp_path / "broken.csv"
    pd.read_csv(good).drop(columns="nll").to_csv(broken, index=False)
    with pytest.raises(BiogansError, match=r"broken\.csv: not a reconstruction cells table \(no column nll\)"):
        table3_reconstruction({("regular", "a"): broken}, out)
    assert_no_output(out)


# --------------------------------------------------------------------------- table 4

def test_table4_one_row_per_model_at_the_final_iteration(tmp_path):
    rng = np.random.default_rng(8)
    files, frames = {}, {}
    for model in ("wgangp-star", "wgangp-multichannel"):
        frame = c2st_frame(rng, ["wgangp", "gan"], [100, 400], [("all_proteins", "generated")])
        files[model] = tmp_path / f"{model}.csv"
        frame.to_csv(files[model], index=False)
        frames[model] = frame
    out = tmp_path / "table4_joint.csv"
    table4_all_proteins(files, out)
    table = pd.read_csv(out)
    assert list(table.columns) == ["model", "mean", "std", "n_splits"]
    assert list(table["model"]) == ["wgangp-star", "wgangp-multichannel"]
    for _, row in table.iterrows():
        f = frames[row["model"]]
        check_row(row, f[(f["evaluator"] == "wgangp") & (f["iteration"] == 400)]["score"])
    markdown = out.with_suffix(".md").read_text()
    assert "Lower is better" in markdown and f"{table['mean'][0]:.2f}" in markdown

    wrong = tmp_path / "wrong.csv"
    c2st_frame(rng, ["wgangp"], [100], [("all", "generated")]).to_csv(wrong, index=False)
    with pytest.raises(BiogansError, match=r"wrong\.csv: no rows for all_proteins versus generated"):
        table4_all_proteins({"x": wrong}, tmp_path / "t4.csv")
    assert_no_output(tmp_path / "t4.csv")


# --------------------------------------------------------------------------- figure 8's table

def test_c2st_vs_iterations_long_table(tmp_path):
    rng = np.random.default_rng(9)
    runs, total = [], 0
    for model in ("gan", "wgangp-sep"):
        for evaluator in ("wgan", "gan"):
            frame = c2st_frame(rng, [evaluator], [20, 100, 600], [("all", "generated")], splits=3)
            path = tmp_path / model / f"{evaluator}.csv"
            path.parent.mkdir(exist_ok=True)
            frame.to_csv(path, index=False)
            runs.append((model, path))
            total += len(frame)
    baseline = tmp_path / "train-vs-test.csv"
    c2st_frame(rng, ["gan", "wgan"], [None], [("test", "train")], splits=3).to_csv(baseline, index=False)
    table = c2st_vs_iterations(runs, [baseline])
    assert list(table.columns) == list(COLUMNS["figure8"]) == ["model", "evaluator", "iteration", "split", "score"]
    assert len(table) == total + 6
    real = table[table["model"] == "real_vs_real"]
    assert len(real) == 6 and real["iteration"].isna().all() and set(real["evaluator"]) == {"gan", "wgan"}
    assert list(dict.fromkeys(table["evaluator"])) == ["gan", "wgan"]  # evaluator order: gan, wgan, wgangp
    assert list(dict.fromkeys(table["model"])) == ["gan", "wgangp-sep", "real_vs_real"]
    with pytest.raises(BiogansError, match=r"wgan\.csv: model wgangp-sep has no gan evaluator rows"):
        c2st_vs_iterations(runs[:3])
    with pytest.raises(BiogansError, match=r"gan rows of model gan are also in"):
        c2st_vs_iterations([*runs, runs[1]])


# --------------------------------------------------------------------------- command line

def test_table_commands(tmp_path, capsys):
    rng = np.random.default_rng(10)
    real, _ = write_real(tmp_path, rng)
    star, _ = write_fake(tmp_path, rng, "wgangp-star")
    out = tmp_path / "tables" / "table1_real_vs_real.csv"
    assert main(["table", "table1", "--out", str(out), "--real", *map(str, real)]) == 0
    assert len(pd.read_csv(out)) == len(PROTEINS) ** 2
    out = tmp_path / "tables" / "table2_conditional.csv"
    assert main(["table", "table2", "--out", str(out), "--c2st", f"wgangp-star={star}",
                 "--real", *map(str, real)]) == 0
    assert set(pd.read_csv(out)["model"]) == {"wgangp-star", "real_vs_real"}
    cells = tmp_path / "cells.csv"
    write_cells(cells, rng)
    out = tmp_path / "tables" / "table3_reconstruction.csv"
    assert main(["table", "table3", "--out", str(out), "--reconstruction", f"regular/wgangp-star={cells}"]) == 0
    assert out.with_suffix(".md").exists()

    capsys.readouterr()
    out = tmp_path / "tables" / "bad.csv"
    assert main(["table", "table2", "--out", str(out), "--c2st", f"a={star}", f"a={star}"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("error: --c2st a given twice") and err.count("\n") == 1
    assert main(["table", "table4", "--out", str(out), "--c2st", f"a={tmp_path / 'none.csv'}"]) == 1
    assert "none.csv: no such file" in capsys.readouterr().err
    assert_no_output(out)
    with pytest.raises(SystemExit):
        main(["table", "table4", "--out", str(out), "--c2st", "no-equals-sign"])


def test_external_sample_sets_get_rows_without_an_iteration_and_none_for_other_cells_in_table4(tmp_path):
    """An external set's C2ST has no generator iteration: all its rows count; in Table 4 an external set of
    other than all-protein cells (a file without rows) gets no row, and the caption says so."""
    rng = np.random.default_rng(9)
    star = tmp_path / "star.csv"
    c2st_frame(rng, ["wgangp"], [100, 400], [("all_proteins", "generated")]).to_csv(star, index=False)
    mine = tmp_path / "mine.csv"
    frame = c2st_frame(rng, ["wgangp"], [None], [("all_proteins", "generated")])
    frame.to_csv(mine, index=False)
    pairs = tmp_path / "pairs.csv"
    frame.iloc[:0].to_csv(pairs, index=False)
    out = tmp_path / "table4_joint.csv"
    table4_all_proteins({"wgangp-star": star, "mine": mine, "pairs": pairs}, out)
    table = pd.read_csv(out).set_index("model")
    assert list(table.index) == ["wgangp-star", "mine"]
    check_row(table.loc["mine"], frame["score"])
    assert "No row for pairs: not all-protein cells." in out.with_suffix(".md").read_text()
    with pytest.raises(BiogansError, match="no all-protein cells"):
        table4_all_proteins({"pairs": pairs}, tmp_path / "t.csv")


def test_table5_gathers_each_sets_metrics_and_names_the_feature_network(tmp_path):
    from conftest import write_random_store

    from biogans.train.features import train_features
    from biogans.train.options import FeatureOptions

    write_random_store(tmp_path / "cells.h5", PROTEINS, n=40)
    train_features(tmp_path / "cells.h5", tmp_path / "features.pt", FeatureOptions(epochs=1, width=4, features=8))
    columns = ["model", "protein", "kid_mean", "kid_std", "fid", "precision", "recall", "memorisation"]
    runs = {}
    for k, name in enumerate(("real", "wgangp-star", "mine")):
        rows = [[name, p, k + 0.5, 0.1, 10 * k, 0.9 - k / 10, 0.8, 1.0] for p in [*PROTEINS, "all"]]
        runs[name] = tmp_path / f"{name}.csv"
        pd.DataFrame(rows, columns=columns).to_csv(runs[name], index=False)
    out = tmp_path / "table5_metrics.csv"
    assert main(["table", "table5", "--metrics", *(f"{n}={p}" for n, p in runs.items()),
                 "--features", str(tmp_path / "features.pt"), "--out", str(out)]) == 0
    table = pd.read_csv(out)
    assert list(table.columns) == columns and list(dict.fromkeys(table["model"])) == ["real", "wgangp-star", "mine"]
    markdown = out.with_suffix(".md").read_text()
    assert "held-out protein accuracy" in markdown and "| mine | 2.500 ± 0.100 | 20.00 |" in markdown
    assert main(["table", "table5", "--metrics", f"other={runs['mine']}", "--features",
                 str(tmp_path / "features.pt"), "--out", str(tmp_path / "t.csv")]) == 1
    assert not (tmp_path / "t.csv").exists()
