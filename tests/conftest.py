"""Shared test setup: no network at import, and sample factories for the three transforms."""

from __future__ import annotations

import os

os.environ.setdefault("NO_ALBUMENTATIONS_UPDATE", "1")
