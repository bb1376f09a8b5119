"""``check_box_kernel``: the checks every box kernel must pass, after torchvision's ``check_kernel``."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np


def check_box_kernel(run: Callable[[np.ndarray], tuple[np.ndarray, ...]], boxes: np.ndarray) -> np.ndarray:
    """Run ``run(boxes)`` and check: input untouched, dtype and extra columns kept, empty in -> empty out.

    ``run`` returns a tuple whose first item holds one output row per input row first, in order.
    Returns the output boxes for further checks.
    """
    original = boxes.copy()
    out = run(boxes)[0]
    np.testing.assert_array_equal(boxes, original, err_msg="kernel wrote into its input")
    assert not np.shares_memory(out, boxes), "kernel returned a view of its input"
    assert out.dtype == boxes.dtype
    assert out.shape[1] == boxes.shape[1]
    np.testing.assert_array_equal(out[: len(boxes), 4:], boxes[:, 4:], err_msg="extra columns changed")
    empty_out = run(boxes[:0])[0]
    assert empty_out.shape[0] == len(out) - len(boxes), "an empty input must add no rows"
    assert empty_out.shape[1] == boxes.shape[1] and empty_out.dtype == boxes.dtype
    return out
