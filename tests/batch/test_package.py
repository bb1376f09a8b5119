"""detmix.batch as a package: torch stays optional."""

from __future__ import annotations

import subprocess
import sys

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
