"""`biogans bench` cases run end to end at tiny sizes (a smoke check; the timings are not asserted)."""

import pytest

from biogans.bench import run


@pytest.mark.parametrize("case", ["train", "star", "c2st"])
def test_quick_case_prints_its_comparison(case, capsys):
    run([case], quick=True)
    out = capsys.readouterr().out
    assert f"== {case}" in out
    assert ("speed-up" in out) if case != "train" else ("bf16 autocast" in out)
