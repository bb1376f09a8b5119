"""Draw augmented samples of a detection dataset as one grid PNG, with boxes, class names and instance masks.

A thin wrapper over ``detmix show`` (:mod:`detmix.cli`, installed as the ``detmix`` command) with
the fixture COCO set and ``out/augmented.png`` of this clone as defaults. Each row runs one
pipeline — an ``A.Compose`` holding detmix's Mosaic, MixUp, CutMix or all three (every transform
at ``p=1``), and CopyPaste where the dataset has instance masks — over the same primary images.

Usage:
    python tools/visualize.py                              # fixture COCO set, every pipeline -> out/augmented.png
    python tools/visualize.py --pipeline mosaic --samples 6 --seed 3
    python tools/visualize.py --dataset fixtures/yolo/images --out out/yolo.png
    python tools/visualize.py --dataset path/to/instances.json --format coco   # images/ beside the JSON
    python tools/visualize.py --seed 23 --cell 224 --out docs/augmented.png    # the README picture
    python tools/visualize.py --pipeline copypaste --samples 4 --out out/copypaste.png
"""

from __future__ import annotations

import argparse
import os
from collections.abc import Sequence
from pathlib import Path

os.environ.setdefault("NO_ALBUMENTATIONS_UPDATE", "1")  # before albumentations is imported

from detmix import cli, show  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
DEFAULT_DATASET = REPO / "fixtures" / "coco" / "annotations.json"
DEFAULT_OUT = REPO / "out" / "augmented.png"
#: The layouts ``--format`` names, and the kinds of ``detmix show`` DATA each covers.
FORMATS = {"coco": ("coco",), "yolo": ("yolo", "data.yaml")}


def parse_args(argv: Sequence[str] | None) -> list[str]:
    """The command line, as the arguments of ``detmix show``."""
    parser = cli.Parser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--dataset", type=Path, default=DEFAULT_DATASET, help="COCO annotation JSON (images/ beside it) or YOLO images folder (default: the fixture COCO set)")
    parser.add_argument("--format", choices=list(FORMATS), default=None, help="dataset layout (default: detected from --dataset)")
    parser.add_argument("--pipeline", choices=[*show.PIPELINES, "grid"], default="grid", help="one pipeline, or grid: one row for each (default)")
    parser.add_argument("--samples", type=int, default=4, help="samples per row (default: 4)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the primaries and of the transforms (default: 0)")
    parser.add_argument("--cell", type=int, default=320, help="side of one grid cell in pixels (default: 320)")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help=f"PNG to write (default: {DEFAULT_OUT})")
    args = parser.parse_args(argv)
    try:
        kind = show.dataset_kind(args.dataset)
    except ValueError:
        kind = None  # detmix show says what is wrong with it
    if args.format is not None and kind is not None and kind not in FORMATS[args.format]:
        parser.error(f"--dataset {args.dataset}: not a {args.format} dataset (a COCO annotation JSON, or a YOLO images folder or data.yaml)")
    options = ["--pipeline", args.pipeline, "--samples", str(args.samples), "--seed", str(args.seed), "--cell", str(args.cell)]
    return ["show", str(args.dataset), *options, "--out", str(args.out)]


def main(argv: Sequence[str] | None = None) -> int:
    """Write the grid and print where; returns the exit status."""
    try:
        return cli.main(parse_args(argv))
    except SystemExit as stop:  # this script's own usage errors
        return stop.code if isinstance(stop.code, int) else 2


if __name__ == "__main__":
    raise SystemExit(main())
