"""detmix.batch as a package: torch stays optional; tools/bench_batch.py prints its table."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

def test_detmix_works_without_torch_and_detmix_batch_then_names_the_torch_extra() -> None:
    code = (
        "import sys; sys.modules['torch'] = None; import detmix; print('detmix.batch' in sys.modules)\n"
        "try:\n    import detmix.batch\nexcept ImportError as error:\n    print(error)"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stderr
    imported, message = result.stdout.strip().split("\n")
    assert imported == "False", "import detmix must not import detmix.batch"
    assert message.startswith("detmix.batch needs torch, which is the optional 'torch' extra of detmix")
    assert "pip install 'detmix[torch]'" in message


def test_bench_batch_prints_its_table(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    """tools/bench_batch.py (which tools/bench.py runs too) times the detmix rows; comparators only where installed."""
    pytest.importorskip("torch")
    monkeypatch.syspath_prepend(str(Path(__file__).resolve().parents[2] / "tools"))
    import bench_batch

    monkeypatch.setattr(bench_batch, "WORKLOADS", {"cpu": [(4, 3, 16, 16)], "cuda": [(4, 3, 16, 16)]})
    tables = bench_batch.run(repeats=2)
    out = capsys.readouterr().out
    assert "batch mixing, cpu, float32 4x3x16x16" in out
    for row in ("floor (batch.clone())", "detmix.batch.MixUp", "detmix.batch.CutMix", "detmix.batch.FMix"):
        assert row in out
        assert any(result["name"] == row and result["calls"] == 2 for result in tables[0]["results"])
