"""Every Python block of the README runs as pasted."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

README = Path(__file__).resolve().parents[1] / "README.md"
BLOCKS = re.findall(r"```python\n(.*?)```", README.read_text(), flags=re.DOTALL)


# The fixture COCO set has five objects without a segmentation on purpose: read with
# masks="instance", it warns that their masks are their boxes, as the README says.
@pytest.mark.filterwarnings("ignore:.*masked by their box")
@pytest.mark.parametrize("code", BLOCKS, ids=[f"block{i}" for i in range(len(BLOCKS))])
def test_readme_block_runs(code: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    if "import torch" in code:
        pytest.importorskip("torch")
    if "import torchvision" in code:
        pytest.importorskip("torchvision", reason="this README example needs torchvision")
    monkeypatch.chdir(tmp_path)  # the examples run from any working directory
    exec(compile(code, str(README), "exec"), {"__name__": "__readme__"})
    assert capsys.readouterr().out, "a README example should print what it made"
