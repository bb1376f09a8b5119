"""The ``detmix`` command (also ``python -m detmix``).

``detmix show DATA`` draws augmented samples of a detection dataset into one grid image: one row
per pipeline, the same primary images in every row, boxes, class names and instance masks drawn.
DATA is a COCO annotation JSON, an Ultralytics data.yaml, or a YOLO images folder or dataset
root. Errors are one line on stderr: exit status 2 for a wrong command line (a value out of
range, a path that does not exist), 1 for data or a pipeline that cannot be used; warnings
about the data are one line each, prefixed ``detmix show: warning:``.
"""

from __future__ import annotations

import argparse
import sys
import warnings
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, NoReturn

import albumentations as A
import cv2
import numpy as np
from tqdm import tqdm

from detmix import __version__, show
from detmix.draw import dropped_name

#: Image types ``--out`` may name, with the encoder settings each gets.
IMAGE_SUFFIXES: dict[str, list[int]] = {
    ".png": [cv2.IMWRITE_PNG_COMPRESSION, 9],
    ".jpg": [cv2.IMWRITE_JPEG_QUALITY, 95],
    ".jpeg": [cv2.IMWRITE_JPEG_QUALITY, 95],
    ".bmp": [],
    ".webp": [cv2.IMWRITE_WEBP_QUALITY, 95],
    ".tif": [],
    ".tiff": [],
}
PIPELINE_FILES = (".json", ".yaml", ".yml")
SPLITS = ("train", "val", "test")
MIN_CELL = 32
USAGE, FAILURE = 2, 1


class Parser(argparse.ArgumentParser):
    """An ``ArgumentParser`` whose errors are one line, ``PROG: error: MESSAGE``, exit status 2."""

    def error(self, message: str) -> NoReturn:
        self.exit(USAGE, f"{self.prog}: error: {message}\n")


def make_parser() -> tuple[Parser, Parser]:
    """The command line of ``detmix``, and of its one command, ``show``."""
    parser = Parser(prog="detmix", description="Look at a detection dataset through detmix's mixing transforms.")
    parser.add_argument("--version", action="version", version=f"detmix {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    command = commands.add_parser(
        "show",
        help="draw a grid of augmented samples of a dataset",
        description="Draw augmented samples of a detection dataset into one grid image (one row per pipeline).",
    )
    command.add_argument("data", type=Path, metavar="DATA", help="COCO annotation .json, YOLO data.yaml, or YOLO images folder or dataset root")
    command.add_argument("--images", type=Path, help="COCO only: the images folder (default: images/ beside the JSON, else the JSON's folder)")
    command.add_argument("--split", choices=SPLITS, help="data.yaml only: the split to read (default: train)")
    command.add_argument(
        "--pipeline",
        default="grid",
        help=f"one of {', '.join(show.PIPELINES)}; grid: one row for each (default); or an Albumentations pipeline saved with A.save (.json, .yaml)",
    )
    command.add_argument("--samples", type=int, default=4, help="samples per row (default: 4)")
    command.add_argument("--seed", type=int, default=0, help="seed of the samples chosen and of the pipelines (default: 0)")
    command.add_argument("--cell", type=int, default=320, help=f"side of one grid cell in pixels, at least {MIN_CELL} (default: 320)")
    command.add_argument("--out", type=Path, default=Path("augmented.png"), help=f"image to write, {'/'.join(IMAGE_SUFFIXES)} (default: augmented.png)")
    command.add_argument("--originals", action="store_true", help="add a first row with each sample as loaded, above its augmentations")
    command.add_argument("--dropped", action="store_true", help="draw the boxes the mixers dropped as dashed outlines, with why (also listed on stdout)")
    return parser, command


def checked(args: argparse.Namespace, command: Parser) -> argparse.Namespace:
    """``args`` after the checks argparse cannot make; a usage error (exit 2) names the option."""
    if args.samples < 1:
        command.error(f"--samples must be at least 1, got {args.samples}")
    if args.seed < 0:
        command.error(f"--seed must be a non-negative integer, got {args.seed}")
    if args.cell < MIN_CELL:
        command.error(f"--cell must be at least {MIN_CELL}, got {args.cell}")
    if args.out.suffix.lower() not in IMAGE_SUFFIXES:
        got = f"'{args.out.suffix}'" if args.out.suffix else "no extension"
        command.error(f"--out {args.out}: expected an image file name ending in {', '.join(IMAGE_SUFFIXES)}, got {got}")
    try:
        args.kind = show.dataset_kind(args.data)
    except ValueError as error:
        command.error(f"DATA {error}")
    if args.images is not None and (args.kind != "coco" or not args.images.is_dir()):
        command.error(f"--images {args.images}: " + ("no such folder" if args.kind == "coco" else "applies to a COCO annotation .json only"))
    if args.split is not None and args.kind != "data.yaml":
        command.error(f"--split {args.split}: applies to a YOLO data.yaml only")
    if args.pipeline not in (*show.PIPELINES, "grid"):
        path = Path(args.pipeline)
        if path.suffix.lower() not in PIPELINE_FILES:
            command.error(f"--pipeline {args.pipeline}: expected one of {', '.join(show.PIPELINES)}, grid, or a pipeline file ({', '.join(PIPELINE_FILES)})")
        if not path.is_file():
            command.error(f"--pipeline {args.pipeline}: no such file")
    return args


def pipelines_for(args: argparse.Namespace) -> list[tuple[str, A.Compose]]:
    """``(row title, Compose)`` for each row ``--pipeline`` asks for."""
    if args.pipeline in show.PIPELINES or args.pipeline == "grid":
        names = list(show.PIPELINES) if args.pipeline == "grid" else [args.pipeline]
        return [(show.PIPELINES[name], show.build_pipeline(name, args.seed, args.dropped)) for name in names]
    path = Path(args.pipeline)
    return [(path.stem, show.load_pipeline(path, args.seed, args.dropped))]


def write_image(path: Path, image: np.ndarray) -> None:
    """Write the RGB ``image`` to ``path`` (folders made), encoded by its extension; OSError if it cannot."""
    suffix = path.suffix.lower()
    encoded, data = cv2.imencode(suffix, cv2.cvtColor(image, cv2.COLOR_RGB2BGR), IMAGE_SUFFIXES[suffix])
    if not encoded:
        raise OSError(f"cannot encode the grid as {suffix}")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data.tobytes())


def run_show(args: argparse.Namespace, prog: str) -> int:
    """Draw and write the grid ``args`` ask for; print what was written (and dropped) on stdout."""
    bars: list[tqdm] = []

    def progress(total: int) -> Callable[[], None]:
        bars.append(tqdm(total=total, desc=prog, unit="sample", disable=None, leave=False, file=sys.stderr))
        return bars[-1].update

    def open_with(masks: bool) -> show.Dataset:
        return show.open_dataset(args.data, args.kind, masks=masks, images=args.images, split=args.split or "train")

    try:
        shown = show.show(open_with, pipelines_for(args), args.samples, args.seed, args.cell, originals=args.originals, dropped=args.dropped, progress=progress)
        write_image(args.out, shown.image)
    except (OSError, ValueError) as error:
        print(f"{prog}: error: {show.one_line(error)}", file=sys.stderr)
        return FAILURE
    finally:
        for bar in bars:
            bar.close()
    if len(shown.indices) < args.samples:
        print(f"{prog}: the dataset has {len(shown.indices)} images: drew {len(shown.indices)} samples, not {args.samples}", file=sys.stderr)
    height, width = shown.image.shape[:2]
    print(f"wrote {args.out} ({width}x{height}: {', '.join(shown.titles)} x {len(shown.indices)} samples of {args.data})")
    if args.dropped:
        drawn = [(title, column, box) for title, column, box in shown.dropped if box.bbox is not None]
        print(f"{len(shown.dropped)} boxes dropped, {len(drawn)} partly visible (drawn dashed)" + (":" if drawn else ""))
        for title, column, box in drawn:
            print(f"  {title}, sample {column} ({shown.names[column]}): {dropped_name(box, shown.classes)} ({box.source}, {box.transform}): {box.reason}")
    return 0


def _print_warning(message: Warning | str, category: type[Warning], filename: str, lineno: int, file: Any = None, line: str | None = None) -> None:
    print(f"detmix show: warning: {show.one_line(message) if isinstance(message, Warning) else message}", file=sys.stderr)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line ``argv`` (default: ``sys.argv[1:]``); returns the exit status."""
    parser, command = make_parser()
    try:
        args = checked(parser.parse_args(argv), command)
    except SystemExit as stop:  # usage errors, --help, --version
        return stop.code if isinstance(stop.code, int) else USAGE
    with warnings.catch_warnings():
        warnings.simplefilter("default")
        warnings.showwarning = _print_warning
        return run_show(args, command.prog)
