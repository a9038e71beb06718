"""`biogans bench` runs every case end to end at tiny sizes and writes its JSON with the machine it ran
on (a smoke check: the timings themselves are not asserted)."""

import json
from pathlib import Path

import pytest
import torch

from biogans.bench import CASES
from biogans.bench.machine import cpu_model_and_flags
from biogans.cli import main
from biogans.stages.bench import CASES as COMMAND_CASES


def test_every_case_runs_quick_and_writes_json(tmp_path, capsys):
    assert tuple(CASES) == COMMAND_CASES
    out = tmp_path / "bench.json"
    assert main(["bench", "--quick", "--threads", "1", "--json", str(out)]) == 0
    written = json.loads(out.read_text())
    machine, results = written["machine"], written["cases"]
    assert machine["device"] == "cpu" and machine["cores"] >= 1 and machine["torch"] == torch.__version__
    assert machine["threads"] == 1 and "gpu" not in machine
    assert list(results) == list(CASES)
    for case, result in results.items():
        assert result["seconds"] > 0 and result["baseline_seconds"] > 0, case
        assert abs(result["speedup"] - result["baseline_seconds"] / result["seconds"]) < 1e-9, case
    assert "speedup" in capsys.readouterr().out


def test_the_machine_record_names_the_cpu_and_the_flags_that_matter(tmp_path):
    cpuinfo = tmp_path / "cpuinfo"
    cpuinfo.write_text("processor\t: 0\nmodel name\t: Intel(R) Xeon(R) Platinum 8480+\n"
                       "flags\t\t: fpu avx2 avx512f avx512_bf16 amx_bf16 amx_tile amx_int8\n\n")
    assert cpu_model_and_flags(cpuinfo) == ("Intel(R) Xeon(R) Platinum 8480+",
                                            ["avx2", "avx512f", "avx512_bf16", "amx_tile", "amx_bf16"])
    model, flags = cpu_model_and_flags(Path("/nonexistent"))
    assert model and flags == []


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has a GPU")
def test_a_cuda_bench_without_a_gpu_is_a_one_line_error(tmp_path, capsys):
    assert main(["bench", "--device", "cuda", "--json", str(tmp_path / "b.json")]) == 1
    assert capsys.readouterr().err.strip() == "error: device cuda asked for, but CUDA is not available"
    assert not (tmp_path / "b.json").exists()
