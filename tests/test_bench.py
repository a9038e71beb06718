"""`biogans bench` runs every case end to end at tiny sizes and writes its JSON (a smoke check: the
timings themselves are not asserted)."""

import json

from biogans.bench import CASES
from biogans.cli import main
from biogans.stages.bench import CASES as COMMAND_CASES


def test_every_case_runs_quick_and_writes_json(tmp_path, capsys):
    assert tuple(CASES) == COMMAND_CASES
    out = tmp_path / "bench.json"
    assert main(["bench", "--quick", "--threads", "1", "--json", str(out)]) == 0
    results = json.loads(out.read_text())
    assert list(results) == list(CASES)
    for case, result in results.items():
        assert result["seconds"] > 0 and result["baseline_seconds"] > 0, case
        assert abs(result["speedup"] - result["baseline_seconds"] / result["seconds"]) < 1e-9, case
    assert "speedup" in capsys.readouterr().out
