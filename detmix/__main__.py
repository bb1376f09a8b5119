"""``python -m detmix``: the ``detmix`` command (see :mod:`detmix.cli`)."""

from __future__ import annotations

from detmix.cli import main

raise SystemExit(main())
