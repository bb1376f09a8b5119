"""End to end: samples per second out of a DataLoader, detmix next to Ultralytics, on the same files.

A training loop does not see a transform, it sees what its DataLoader delivers. This script
measures that, on a dataset written by ``tools/make_bench_data.py`` (COCO JSON and the YOLO layout
over the same JPEGs), for these paths:

    detmix mosaic       CocoDetection + Mosaic (640x640), yolo_collate
    detmix yolov8-like  CocoDetection + Mosaic with scale 0.5 / translate 0.1 in its warp, HSVJitter, flip
    ultralytics mosaic  YOLODataset, mosaic + its 640 crop, every other augmentation off
    ultralytics default YOLODataset with Ultralytics' default detection hyperparameters
    decode x1 / x4      the floor: decoding 1 or 4 of the dataset's JPEGs per sample, nothing else

Method:
    * Each (path, workers) pair runs in a fresh Python process, so that memory and CPU figures are its
      own. OpenCV, OpenMP and torch use one thread per process; parallelism comes from the workers.
    * Batches of 16 through ``torch.utils.data.DataLoader`` (``num_workers`` W, shuffled with a seeded
      generator). The first ``max(W, 1)`` batches warm up and are not timed; then ``--samples`` are.
    * decodes/sample counts every ``cv2.imread`` / ``cv2.imdecode`` call (one per image, nested calls
      not counted twice) in the main process and the workers, divided by samples delivered.
    * CPU ms/sample is user + system time of the process and its workers; peak RSS is the largest
      resident set of one process: the workers' when W > 0, else the main process's.
    * Ultralytics (AGPL) is an optional comparator, used only when importable; never a dependency.

Usage:
    python tools/make_bench_data.py --out bench_data/coco --preset coco --count 2000
    python tools/bench_loader.py --data bench_data/coco [--workers 0 2] [--samples 1200] [--json PATH]
"""

from __future__ import annotations

import os

os.environ["OMP_NUM_THREADS"] = "1"  # before numpy, cv2 and torch are imported
os.environ.setdefault("NO_ALBUMENTATIONS_UPDATE", "1")
os.environ.setdefault("YOLO_OFFLINE", "1")

import argparse  # noqa: E402
import json  # noqa: E402
import resource  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import threading  # noqa: E402
import time  # noqa: E402
from collections.abc import Callable, Sequence  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any  # noqa: E402

BATCH_SIZE = 16
IMGSZ = 640
SEED = 0
PATHS = ("detmix mosaic", "detmix yolov8-like", "ultralytics mosaic", "ultralytics default", "decode x1", "decode x4")
#: (label, numerator path, denominator path, target): samples/s of the first over the second.
RATIOS = [
    ("detmix mosaic vs ultralytics mosaic", "detmix mosaic", "ultralytics mosaic", 1.5),
    ("detmix yolov8-like vs ultralytics default", "detmix yolov8-like", "ultralytics default", 1.2),
]


# ----- counting decodes -------------------------------------------------------------------------


class DecodeCounter:
    """Counts OpenCV decodes in this process and in forked workers (the count lives in shared memory)."""

    def __init__(self) -> None:
        import multiprocessing

        import cv2

        self.value = multiprocessing.Value("q", 0)
        self._inside = threading.local()
        for name in ("imread", "imdecode"):
            setattr(cv2, name, self._counting(getattr(cv2, name)))

    def _counting(self, decode: Callable[..., Any]) -> Callable[..., Any]:
        def counted(*args: Any, **kwargs: Any) -> Any:
            if getattr(self._inside, "active", False):  # imread implemented with imdecode: one decode
                return decode(*args, **kwargs)
            self._inside.active = True
            try:
                with self.value.get_lock():
                    self.value.value += 1
                return decode(*args, **kwargs)
            finally:
                self._inside.active = False

        return counted


# ----- the paths --------------------------------------------------------------------------------


def detmix_loader_parts(data: Path, recipe: bool) -> tuple[Any, Callable]:
    """A CocoDetection over ``data`` with Mosaic (and, for the recipe, jitter, colour and flip)."""
    import albumentations as A

    import detmix

    steps: list[Any] = [detmix.Mosaic(target_size=(IMGSZ, IMGSZ), p=1.0)]
    if recipe:
        steps = [
            detmix.Mosaic(target_size=(IMGSZ, IMGSZ), scale_range=(0.5, 1.5), translate=0.1, p=1.0),
            detmix.HSVJitter(hue=0.015, saturation=0.7, value=0.4),  # Ultralytics' hsv_h, hsv_s, hsv_v
            A.HorizontalFlip(p=0.5),
        ]
    transform = A.Compose(steps, bbox_params=A.BboxParams("yolo", label_fields=["class_labels"], min_visibility=0.1), seed=SEED)
    dataset = detmix.CocoDetection(data / "images", data / "annotations.json", transform, verbose=False, max_size=IMGSZ)
    return dataset, detmix.yolo_collate


def ultralytics_loader_parts(data: Path, mosaic_only: bool) -> tuple[Any, Callable]:
    """Ultralytics' YOLODataset over the YOLO layout of ``data``, with its training augmentation."""
    import yaml
    from ultralytics.cfg import get_cfg
    from ultralytics.data import build_yolo_dataset
    from ultralytics.utils import DEFAULT_CFG

    overrides: dict[str, Any] = {"imgsz": IMGSZ, "mosaic": 1.0, "mixup": 0.0, "cutmix": 0.0, "copy_paste": 0.0}
    if mosaic_only:
        overrides |= dict.fromkeys(("degrees", "translate", "scale", "shear", "perspective", "fliplr", "hsv_h", "hsv_s", "hsv_v"), 0.0)
    names = yaml.safe_load((data / "data.yaml").read_text(encoding="utf-8"))["names"]
    cfg = get_cfg(DEFAULT_CFG, overrides)
    dataset = build_yolo_dataset(cfg, str(data / "images"), BATCH_SIZE, {"names": names, "nc": len(names), "channels": 3}, mode="train")
    return dataset, type(dataset).collate_fn


class DecodeOnly:
    """The floor: decode ``per_sample`` of the dataset's JPEGs per sample and return the first."""

    def __init__(self, data: Path, per_sample: int) -> None:
        self.paths = sorted(str(p) for p in (data / "images").glob("*.jpg"))
        self.per_sample = per_sample

    def __len__(self) -> int:
        return len(self.paths)

    def __getitem__(self, index: int) -> Any:
        import cv2

        images = [cv2.imread(self.paths[(index + k * 7919) % len(self.paths)]) for k in range(self.per_sample)]
        return images[0]


def loader_parts(path: str, data: Path) -> tuple[Any, Callable]:
    """The dataset and collate function of one path."""
    if path.startswith("detmix"):
        return detmix_loader_parts(data, recipe=path.endswith("yolov8-like"))
    if path.startswith("ultralytics"):
        return ultralytics_loader_parts(data, mosaic_only=path.endswith("mosaic"))
    return DecodeOnly(data, int(path[-1])), lambda batch: batch


# ----- one measurement, in its own process -------------------------------------------------------


def measure(path: str, data: Path, workers: int, samples: int) -> dict[str, Any]:
    """Throughput, CPU and memory of one path with ``workers`` DataLoader workers."""
    import cv2
    import torch
    from torch.utils.data import DataLoader

    counter = DecodeCounter()
    dataset, collate = loader_parts(path, data)
    cv2.setNumThreads(1)  # after the imports: Ultralytics sets its own value
    torch.set_num_threads(1)
    loader = DataLoader(
        dataset,
        batch_size=BATCH_SIZE,
        shuffle=True,
        num_workers=workers,
        collate_fn=collate,
        generator=torch.Generator().manual_seed(SEED),
        drop_last=True,
    )
    if len(loader) < max(workers, 1) + 1:
        raise SystemExit(f"bench_loader: {data} has {len(dataset)} images, too few for {max(workers, 1) + 1} batches of {BATCH_SIZE}")
    batches = iter(loader)
    for _ in range(max(workers, 1)):  # warm-up: worker start, first decodes
        next(batches)
    before_cpu = cpu_seconds()
    decodes_before = counter.value.value
    start = time.perf_counter()
    delivered = 0
    while delivered < samples:
        try:
            next(batches)
        except StopIteration:
            batches = iter(loader)
            continue
        delivered += BATCH_SIZE
    seconds = time.perf_counter() - start
    decodes = counter.value.value - decodes_before
    del batches  # joins the workers, so that their CPU time and memory are counted
    cpu = cpu_seconds() - before_cpu
    rss_kb = resource.getrusage(resource.RUSAGE_CHILDREN if workers else resource.RUSAGE_SELF).ru_maxrss
    return {
        "path": path,
        "workers": workers,
        "samples": delivered,
        "samples_per_s": delivered / seconds,
        "cpu_ms_per_sample": 1000 * cpu / delivered,
        "decodes_per_sample": decodes / delivered,
        "peak_rss_mb": rss_kb / 1024,
    }


def cpu_seconds() -> float:
    """User + system CPU of this process and its finished children."""
    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def run_isolated(path: str, data: Path, workers: int, samples: int) -> dict[str, Any] | None:
    """:func:`measure` in a fresh interpreter; None when the path cannot run here (Ultralytics absent)."""
    command = [sys.executable, __file__, "--data", str(data), "--one", path, "--workers", str(workers), "--samples", str(samples)]
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    lines = [line for line in done.stdout.splitlines() if line.startswith("{")]
    if done.returncode or not lines:
        reason = (done.stderr.strip().splitlines() or ["no output"])[-1]
        print(f"  {path}, {workers} workers: not measured ({reason})", file=sys.stderr)
        return None
    return json.loads(lines[-1])


def ultralytics_version() -> str | None:
    try:
        import ultralytics
    except Exception:  # noqa: BLE001 - absent or broken: the comparison is optional
        return None
    return ultralytics.__version__


# ----- reporting ----------------------------------------------------------------------------------


def report(rows: list[dict[str, Any]]) -> str:
    """The table of measurements and the ratios of :data:`RATIOS` per worker count."""
    lines = [f"{'path':<22}{'workers':>8}{'samples/s':>11}{'CPU ms/sample':>15}{'decodes/sample':>16}{'peak RSS MB':>13}"]
    for r in rows:
        lines.append(
            f"{r['path']:<22}{r['workers']:>8}{r['samples_per_s']:>11.1f}{r['cpu_ms_per_sample']:>15.1f}"
            f"{r['decodes_per_sample']:>16.2f}{r['peak_rss_mb']:>13.0f}",
        )
    speed = {(r["path"], r["workers"]): r["samples_per_s"] for r in rows}
    lines += ["", f"{'ratio (samples/s)':<48}{'workers':>8}{'value':>8}  target"]
    for label, top, bottom, target in RATIOS:
        for workers in sorted({w for _, w in speed}):
            if (top, workers) in speed and (bottom, workers) in speed:
                value = speed[top, workers] / speed[bottom, workers]
                lines.append(f"{label:<48}{workers:>8}{value:>7.2f}x  >= {target:g} {'yes' if value >= target else 'NO'}")
    return "\n".join(lines)


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, required=True, help="a folder written by tools/make_bench_data.py")
    parser.add_argument("--workers", type=int, nargs="+", default=[0, 2], help="DataLoader worker counts (default: 0 2)")
    parser.add_argument("--samples", type=int, default=1200, help="timed samples per measurement (default 1200)")
    parser.add_argument("--paths", nargs="+", choices=PATHS, default=list(PATHS), help="paths to measure (default: all)")
    parser.add_argument("--json", type=Path, help="also write the rows to this file")
    parser.add_argument("--one", choices=PATHS, help=argparse.SUPPRESS)  # internal: one measurement, printed as JSON
    args = parser.parse_args(argv)
    if not (args.data / "annotations.json").is_file():
        parser.error(f"--data {args.data}: no annotations.json; write it with tools/make_bench_data.py")
    if args.samples < BATCH_SIZE or min(args.workers) < 0:
        parser.error(f"--samples must be at least {BATCH_SIZE} and --workers non-negative")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    if args.one:
        print(json.dumps(measure(args.one, args.data, args.workers[0], args.samples)))
        return 0
    version = ultralytics_version()
    print(f"data {args.data}, batch {BATCH_SIZE}, {args.samples} timed samples, ultralytics {version or 'not importable'}")
    paths = [p for p in args.paths if version or not p.startswith("ultralytics")]
    rows = [row for workers in args.workers for path in paths if (row := run_isolated(path, args.data, workers, args.samples))]
    print(report(rows))
    if args.json:
        args.json.write_text(json.dumps({"ultralytics": version, "rows": rows}, indent=2), encoding="utf-8")
    measured = {(row["path"], row["workers"]) for row in rows}
    missing = [f"{p} ({w} workers)" for w in args.workers for p in paths if (p, w) not in measured]
    if missing:
        print(f"bench_loader: not measured: {', '.join(missing)}", file=sys.stderr)
    return 1 if missing else 0


if __name__ == "__main__":
    sys.exit(main())
