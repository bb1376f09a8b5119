"""The ``detmix`` command (also ``python -m detmix``).

``detmix show DATA`` draws augmented samples of a detection dataset into one grid image: one row
per pipeline, the same primary images in every row, boxes, class names and instance masks drawn.
DATA is a COCO annotation JSON, an Ultralytics data.yaml, or a YOLO images folder or dataset
root (``--split`` chooses a data.yaml's split or a root's ``images/<split>`` folder: train by default). Errors are one line on stderr: exit status 2 for a wrong command line (a value out of
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
MIN_CELL, MAX_CELL = 32, 4096
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
    command.add_argument("--images", type=Path, help="COCO only: the images folder (default: the first of images/ beside the JSON, the JSON's folder, ../train2017 for annotations/instances_train2017.json, ../images, that holds the images)")
    command.add_argument("--split", help="a data.yaml's split (train, val, test), or a dataset root's images/<split> folder (default: train)")
    command.add_argument(
        "--pipeline",
        default="grid",
        help=f"one of {', '.join(show.PIPELINES)}; grid: one row for each (default); or an Albumentations pipeline saved with A.save (.json, .yaml)",
    )
    command.add_argument("--samples", type=int, default=4, help="samples per row (default: 4)")
    command.add_argument("--seed", type=int, default=0, help="seed of the samples chosen and of the pipelines (default: 0)")
    command.add_argument("--cell", type=int, default=320, help=f"side of one grid cell in pixels, {MIN_CELL} to {MAX_CELL} (default: 320)")
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
    if not MIN_CELL <= args.cell <= MAX_CELL:
        command.error(f"--cell must be from {MIN_CELL} to {MAX_CELL}, got {args.cell}")
    if args.out.suffix.lower() not in IMAGE_SUFFIXES:
        got = f"'{args.out.suffix}'" if args.out.suffix else "no extension"
        command.error(f"--out {args.out}: expected an image file name ending in {', '.join(IMAGE_SUFFIXES)}, got {got}")
    if args.out.is_dir() or (blocking := next((p for p in args.out.parents if p.exists() and not p.is_dir()), None)):
        command.error(f"--out {args.out}: " + ("is a folder" if args.out.is_dir() else f"{blocking} is a file, not a folder"))
    try:
        args.kind = show.dataset_kind(args.data)
    except ValueError as error:
        command.error(f"DATA {error}")
    if args.images is not None and (args.kind != "coco" or not args.images.is_dir()):
        command.error(f"--images {args.images}: " + ("no such folder" if args.kind == "coco" else "applies to a COCO annotation .json only"))
    args.split = checked_split(args, command)
    if args.pipeline not in (*show.PIPELINES, "grid"):
        path = Path(args.pipeline)
        if path.suffix.lower() not in PIPELINE_FILES:
            command.error(f"--pipeline {args.pipeline}: expected one of {', '.join(show.PIPELINES)}, grid, or a pipeline file ({', '.join(PIPELINE_FILES)})")
        if not path.is_file():
            command.error(f"--pipeline {args.pipeline}: no such file")
    return args


def checked_split(args: argparse.Namespace, command: Parser) -> str | None:
    """The split to read: ``--split``, else train, for a data.yaml or a YOLO dataset root with
    ``images/<split>`` folders; a usage error names a split that is not there, or ``--split``
    given for data without splits."""
    splits = list(SPLITS) if args.kind == "data.yaml" else show.root_splits(args.data) if args.kind == "yolo" else []
    if args.split is None:
        if splits and "train" not in splits:
            command.error(f"DATA {args.data} has the splits {', '.join(splits)} (images/<split>), no train: pass --split")
        return "train" if splits else None
    if not splits:
        command.error(f"--split {args.split}: applies to a YOLO data.yaml or a dataset root with images/<split> folders")
    if args.split not in splits:
        command.error(f"--split {args.split}: expected one of {', '.join(splits)} ({args.data})")
    return args.split


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

    try:
        source = show.look(args.data, args.kind, images=args.images, split=args.split)
        pipelines = pipelines_for(args)
        shown = show.show(source.open, pipelines, args.samples, args.seed, args.cell, segmented=source.segmented, originals=args.originals, dropped=args.dropped, progress=progress)
        write_image(args.out, shown.image)
    except (OSError, ValueError) as error:
        print(f"{prog}: error: {show.one_line(error)}", file=sys.stderr)
        return FAILURE
    finally:
        for bar in bars:
            bar.close()
    count = len(shown.indices)
    if count < args.samples:
        print(f"{prog}: the dataset has {plural(count, 'image')}: drew {plural(count, 'sample')}, not {args.samples}", file=sys.stderr)
    height, width = shown.image.shape[:2]
    print(f"wrote {args.out} ({width}x{height}: {', '.join(shown.titles)} x {plural(count, 'sample')} of {args.data})")
    if args.dropped:
        print_dropped(shown)
    return 0


def print_dropped(shown: show.Shown) -> None:
    """List on stdout the dropped boxes that were partly visible: drawn dashed, or why not."""
    visible = [d for d in shown.dropped if d.box.bbox is not None]
    moved = sum(d.moved_by is not None for d in visible)
    drawn = f"{len(visible) - moved} drawn dashed" + (f", {moved} not drawn: moved after the mixer" if moved else "")
    print(f"{plural(len(shown.dropped), 'box', 'boxes')} dropped, {len(visible)} partly visible ({drawn})" + (":" if visible else ""))
    for d in visible:
        note = f" (not drawn: moved by {d.moved_by} after the mixer)" if d.moved_by else ""
        print(f"  {d.row}, sample {d.column} ({shown.names[d.column]}): {dropped_name(d.box, shown.classes)} ({d.box.source}, {d.box.transform}): {d.box.reason}{note}")


def plural(count: int, noun: str, nouns: str | None = None) -> str:
    """``1 image``, ``2 images``."""
    return f"{count} {noun if count == 1 else nouns or noun + 's'}"


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
