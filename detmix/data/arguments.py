"""Checking the arguments datasets take: each error names the argument and what was expected."""

from __future__ import annotations

import numbers
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any


def integer_argument(value: Any, name: str, minimum: int, or_none: bool = False) -> int | None:
    """``value`` as an int of at least ``minimum`` (or None, if ``or_none``); TypeError or ValueError naming ``name``."""
    if value is None and or_none:
        return None
    expected = f"an int >= {minimum}" + (" or None" if or_none else "")
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name}: expected {expected}, got {type(value).__name__} {value!r}")
    if value < minimum:
        raise ValueError(f"{name}: expected {expected}, got {value}")
    return int(value)


def folder_argument(value: Any, name: str) -> Path:
    """``value`` as the Path of an existing folder; TypeError or ValueError naming ``name``."""
    if not isinstance(value, (str, os.PathLike)):
        raise TypeError(f"{name}: expected a folder path, got {type(value).__name__} {value!r}")
    path = Path(value)
    if not path.is_dir():
        raise ValueError(f"{name}: {path} is not a folder")
    return path


def bool_argument(value: Any, name: str) -> bool:
    """``value`` if it is True or False; TypeError naming ``name`` otherwise."""
    if not isinstance(value, bool):
        raise TypeError(f"{name}: expected True or False, got {type(value).__name__} {value!r}")
    return value


def mask_mode(value: Any, allowed: Sequence[bool | str], owner: str) -> str | None:
    """A dataset's ``masks`` argument as None (no masks), ``"semantic"`` or ``"instance"``.

    ``allowed`` lists the values ``owner`` takes besides False (True means ``"semantic"``);
    another bool or string is a ValueError, anything else a TypeError, naming ``masks``.
    """
    if value is False:
        return None
    listed = ", ".join(repr(v) for v in (False, *allowed))
    if not isinstance(value, (bool, str)):
        raise TypeError(f"masks: expected one of {listed}, got {type(value).__name__} {value!r}")
    if value in allowed:
        return "semantic" if value is True else value
    hint = f"; {owner} has no semantic map: pass masks='instance' for one mask per box" if value in (True, "semantic") else ""
    raise ValueError(f"masks: expected one of {listed}, got {value!r}{hint}")
