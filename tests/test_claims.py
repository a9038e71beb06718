"""The reproduction scorecard's logic on hand-made tables: each claim holds where the numbers say so and
fails where they do not; absent tables give 'not applicable'."""

from __future__ import annotations

import itertools

import pandas as pd
import pytest

from biogans.cli import main
from biogans.report.claims import (
    figure8_claims,
    scorecard,
    table1_claims,
    table2_claims,
    table3_claims,
    table4_claims,
    table5_claims,
)

PROTEINS = ["Alp14", "Arp3", "Tea1", "Tea4", "Fim1"]


def table1(changes=None, same=0.1, std=0.2, far=10.0, arp3_fim1=3.0, tea1_tea4=5.0) -> pd.DataFrame:
    changes = changes or {}
    rows = []
    for a, b in itertools.product(PROTEINS, PROTEINS):
        mean = same if a == b else far
        if {a, b} == {"Arp3", "Fim1"}:
            mean = arp3_fim1
        if {a, b} == {"Tea1", "Tea4"}:
            mean = tea1_tea4
        rows.append({"protein_a": a, "protein_b": b, "mean": changes.get((a, b), mean), "std": std, "n_splits": 10})
    return pd.DataFrame(rows)


def held(claims, claim_id):
    return next(c.held for c in claims if c.id == claim_id)


def test_table1_claims_hold_on_the_papers_pattern():
    claims = table1_claims(table1())
    assert [c.id for c in claims] == ["table1-same", "table1-different", "table1-arp3-fim1", "table1-tea1-tea4"]
    assert all(c.held for c in claims)


@pytest.mark.parametrize("changes, failing", [
    ({("Alp14", "Alp14"): 0.5}, "table1-same"),  # a diagonal 2.5 std from 0
    ({("Alp14", "Tea1"): 0.4}, "table1-different"),  # a pair below the diagonal + 2 std
    ({("Arp3", "Alp14"): 2.0, ("Alp14", "Arp3"): 2.0}, "table1-arp3-fim1"),  # Arp3's nearest is Alp14
    ({("Tea4", "Alp14"): 1.0, ("Alp14", "Tea4"): 1.0}, "table1-tea1-tea4"),  # Tea4's nearest is Alp14
])
def test_table1_claims_fail_where_the_numbers_say_so(changes, failing):
    claims = table1_claims(table1(changes))
    assert not held(claims, failing)
    assert all(c.held for c in claims if c.id != failing)


def figure8(wgangp_drop=True, sep_wins=True) -> pd.DataFrame:
    rows = []
    for evaluator, model, split in itertools.product(["gan", "wgangp"], ["wgangp", "wgangp-sep", "gan-sep"], range(5)):
        start = 10.0 + split * 0.1
        end = (1.0 if model != "gan-sep" else 3.0) if wgangp_drop else 9.9 + split * 0.1
        if not sep_wins and model == "wgangp-sep":
            end = 4.0
        rows += [{"model": model, "evaluator": evaluator, "iteration": 10, "split": split, "score": start},
                 {"model": model, "evaluator": evaluator, "iteration": 400, "split": split, "score": end}]
    rows += [{"model": "real_vs_real", "evaluator": "wgangp", "iteration": pd.NA, "split": s, "score": -0.7}
             for s in range(5)]
    return pd.DataFrame(rows)


def test_figure8_claims():
    claims = figure8_claims(figure8())
    assert [c.id for c in claims] == ["figure8-gan-improves", "figure8-wgangp-improves", "figure8-wgangp-beats-gan"]
    assert all(c.held for c in claims) and "real cells -0.70" in claims[-1].ours
    flat = figure8_claims(figure8(wgangp_drop=False))
    assert not held(flat, "figure8-gan-improves") and not held(flat, "figure8-wgangp-improves")
    assert not held(figure8_claims(figure8(sep_wins=False)), "figure8-wgangp-beats-gan")


def table2(independent=0.8, star=1.4, multichannel=3.7) -> pd.DataFrame:
    models = {"wgangp-independent": independent, "wgangp-star": star, "wgangp-multichannel": multichannel,
              "real_vs_real": 0.0}
    return pd.DataFrame([{"model": m, "protein": p, "mean": v, "std": 0.1, "n_splits": 10}
                         for m, v in models.items() for p in ("Alp14", "all")])


def test_table2_ordering():
    assert held(table2_claims(table2()), "table2-ordering")
    assert not held(table2_claims(table2(star=4.0)), "table2-ordering")


def table3(wgangp=0.04, gan=0.06, nn=0.08) -> pd.DataFrame:
    rows = [{"mode": mode, "model": model, "protein": "all", "l2_median": value}
            for mode in ("regular", "separable")
            for model, value in (("gan-star", gan), ("wgangp-star", wgangp), ("nearest_neighbour", nn))]
    return pd.DataFrame(rows)


def test_table3_reconstructions():
    assert all(c.held for c in table3_claims(table3()))
    assert not any(c.held for c in table3_claims(table3(wgangp=0.07)))  # worse than GAN
    assert not any(c.held for c in table3_claims(table3(nn=0.03)))  # worse than the nearest training cell


def test_table4_star_and_not_applicable():
    rows = pd.DataFrame({"model": ["wgangp-star", "wgangp-independent", "wgangp-multichannel"],
                         "mean": [0.2, 1.0, 1.5], "std": [0.3, 0.4, 0.3], "n_splits": 10})
    assert held(table4_claims(rows), "table4-star")
    rows.loc[1, "mean"] = 0.5  # within one std of the star
    assert not held(table4_claims(rows), "table4-star")
    assert held(table4_claims(None), "table4-star") is None


def test_scorecard_files_and_command(tmp_path, capsys):
    paths = {}
    for name, frame in (("table1", table1()), ("table2", table2()), ("table3", table3()), ("figure8", figure8())):
        paths[name] = tmp_path / f"{name}.csv"
        frame.to_csv(paths[name], index=False)
    out = tmp_path / "claims.csv"
    assert main(["table", "claims", *[f"--{k}={v}" for k, v in paths.items()], "--out", str(out)]) == 0
    card = pd.read_csv(out)
    assert list(card.columns) == ["id", "claim", "paper", "ours", "test", "held"]
    assert (card["held"] == "held").sum() == len(card) - 2  # no Table 4, no Table 5 given
    assert list(card["held"].iloc[-2:]) == ["not applicable"] * 2
    assert f"{len(card) - 2} held, 0 not held, 2 not applicable" in out.with_suffix(".md").read_text()
    broken = tmp_path / "broken.csv"
    table1().drop(columns="std").to_csv(broken, index=False)
    with pytest.raises(Exception, match="no column std"):
        scorecard({**paths, "table1": broken}, tmp_path / "c2.csv")
    assert not (tmp_path / "c2.csv").exists()


def test_the_kid_claim_compares_each_wgangp_model_with_its_gan_counterpart():
    def table5(kid: dict) -> pd.DataFrame:
        return pd.DataFrame([{"model": m, "protein": p, "kid_mean": k + (p != "all")} for m, k in kid.items()
                             for p in ("Alp14", "all")])

    held = table5_claims(table5({"real": 0.0, "wgangp-sep": 1.0, "gan-sep": 2.0, "wgangp-star": 3.0,
                                 "gan-star": 4.0, "wgangp-multichannel": 9.0}))[0]
    assert held.held is True and "wgangp-sep 1.000 vs gan-sep 2.000" in held.ours and "multichannel" not in held.ours
    assert table5_claims(table5({"wgangp-sep": 1.0, "gan-sep": 2.0, "wgangp-star": 5.0, "gan-star": 4.0}))[0].held \
        is False
    assert table5_claims(table5({"wgangp-sep": 1.0}))[0].held is None
    assert table5_claims(None)[0].held is None
