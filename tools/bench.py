"""Speed of detmix's Mosaic, MixUp and CutMix next to their usual alternatives.

Method:
    * One process, one thread: ``OMP_NUM_THREADS=1`` is set before numpy and OpenCV are imported and
      ``cv2.setNumThreads(1)`` before timing (again after Ultralytics, whose import changes it).
    * One workload for every row: a primary plus extra 640x480 uint8 images with 10 COCO boxes and one
      label field each, drawn from a seeded numpy generator; ``A.Compose`` with
      ``BboxParams("coco", label_fields=["labels"], min_visibility=0.1)``; mosaic output 640x640.
    * Each row is a zero-argument call. It is run for a warm-up, then timed call by call with
      ``time.perf_counter_ns``; the table gives the median and the 10th/90th percentiles in ms.
    * The "dataset extras" rows pass the same extras as CocoDetection / YoloDetection hand them to the
      mixers: boxes already validated in Albumentations' format, so only their labels are encoded.
    * The "floor" row is what no mosaic can avoid: the same Compose call (same ``bbox_params`` and
      inputs, metadata included) running ``A.NoOp``, plus four 320x320 copies into a fresh 640x640
      canvas.
    * Ultralytics (AGPL) is an optional comparator, used only when it happens to be importable; it is no
      dependency of detmix. Its Mosaic gets a minimal in-memory dataset and is followed by its own
      ``RandomPerspective`` with every jitter at zero, i.e. the 640x640 crop of the 1280x1280 canvas
      its training pipeline makes. Its MixUp runs alone (no pre-transform) on the same 640x480 pair.
    * Then the batch-mixing tables of ``tools/bench_batch.py`` (MixUp and CutMix on whole torch
      batches against timm, torchvision and Kornia), when torch is importable; ``--no-batch`` skips them.

Usage:
    python tools/bench.py [--repeats N | --quick] [--json PATH] [--no-ultralytics] [--no-batch]
"""

from __future__ import annotations

import os

os.environ["OMP_NUM_THREADS"] = "1"  # before numpy and cv2 are imported
os.environ.setdefault("NO_ALBUMENTATIONS_UPDATE", "1")
os.environ.setdefault("YOLO_OFFLINE", "1")

import argparse  # noqa: E402
import json  # noqa: E402
import random  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from collections.abc import Callable, Sequence  # noqa: E402
from dataclasses import asdict, dataclass  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any  # noqa: E402

import albumentations as A  # noqa: E402
import cv2  # noqa: E402
import numpy as np  # noqa: E402

import detmix  # noqa: E402
from detmix.data.feeding import LazySample  # noqa: E402
from detmix.data.formats import convert_bboxes  # noqa: E402

SEED = 0
SOURCE_HW = (480, 640)
TARGET_HW = (640, 640)
BOXES_PER_IMAGE = 10
EXTRAS = 7
DEFAULT_REPEATS = 1000
QUICK_REPEATS = 10

Sample = dict[str, Any]
Case = Callable[[], object]
#: (label, numerator row, denominator row, comparison, target): value = median(numerator) / median(denominator).
RATIOS = [
    ("detmix.Mosaic speed-up vs albumentations.Mosaic", "albumentations.Mosaic", "detmix.Mosaic", ">=", 5.0),
    ("detmix.Mosaic speed-up vs ultralytics Mosaic+crop", "ultralytics Mosaic+crop", "detmix.Mosaic", ">=", 2.0),
    ("detmix.Mosaic time / floor", "detmix.Mosaic", "floor (NoOp + 4 copies)", "<=", 2.0),
    ("detmix.Mosaic, dataset extras, time / floor", "detmix.Mosaic, dataset extras", "floor (NoOp + 4 copies)", "<=", 2.0),
    ("detmix.MixUp speed-up vs ultralytics MixUp", "ultralytics MixUp", "detmix.MixUp", ">=", 5.0),
    ("detmix.MixUp, dataset extras, vs ultralytics MixUp", "ultralytics MixUp", "detmix.MixUp, dataset extras", ">=", 8.0),
]


@dataclass
class Result:
    """Timing of one row, in milliseconds."""

    name: str
    median_ms: float
    p10_ms: float
    p90_ms: float
    calls: int


def make_samples(seed: int = SEED, count: int = 1 + EXTRAS) -> list[Sample]:
    """Deterministic 640x480 uint8 images, each with 10 COCO boxes inside it and integer labels."""
    rng = np.random.default_rng(seed)
    (h, w), n = SOURCE_HW, BOXES_PER_IMAGE
    samples = []
    for _ in range(count):
        bw, bh = rng.uniform(16, w / 3, n), rng.uniform(16, h / 3, n)
        x, y = rng.uniform(0, w - bw), rng.uniform(0, h - bh)
        image = rng.integers(0, 256, (h, w, 3), dtype=np.uint8)
        bboxes = np.stack([x, y, bw, bh], axis=1).astype(np.float32)
        samples.append({"image": image, "bboxes": bboxes, "labels": rng.integers(0, 80, n)})
    return samples


def compose(transform: A.BasicTransform) -> A.Compose:
    """The Compose every Albumentations row runs: COCO boxes, one label field, min_visibility 0.1."""
    bbox_params = A.BboxParams(format="coco", label_fields=["labels"], min_visibility=0.1)
    return A.Compose([transform], bbox_params=bbox_params, seed=SEED)


def albumentations_cases(primary: Sample, extras: list[Sample]) -> dict[str, Case]:
    """detmix rows, albumentations.Mosaic and the floor, all through ``A.Compose``."""
    mosaic_inputs = {**primary, "mosaic_metadata": extras}
    quadrants = [primary["image"], *(extra["image"] for extra in extras[:3])]
    half_h, half_w = TARGET_HW[0] // 2, TARGET_HW[1] // 2
    noop = compose(A.NoOp(p=1))

    def floor() -> np.ndarray:
        noop(**mosaic_inputs)
        canvas = np.empty((*TARGET_HW, 3), dtype=np.uint8)
        for i, image in enumerate(quadrants):
            y, x = (i // 2) * half_h, (i % 2) * half_w
            canvas[y : y + half_h, x : x + half_w] = image[:half_h, :half_w]
        return canvas

    def run(transform: A.BasicTransform, key: str) -> Case:
        aug, inputs = compose(transform), {**primary, key: extras}
        return lambda: aug(**inputs)

    def run_fed(transform: A.BasicTransform, key: str) -> Case:
        """The same call with the extras as a detmix dataset hands them over (boxes validated at construction)."""
        aug, inputs = compose(transform), {**primary, key: [dataset_extra(extra) for extra in extras]}
        return lambda: aug(**inputs)

    return {
        "detmix.Mosaic": run(detmix.Mosaic(target_size=TARGET_HW, p=1), "mosaic_metadata"),
        "detmix.Mosaic, dataset extras": run_fed(detmix.Mosaic(target_size=TARGET_HW, p=1), "mosaic_metadata"),
        "albumentations.Mosaic": run(
            A.Mosaic(target_size=TARGET_HW, cell_shape=TARGET_HW, fill=114, p=1),
            "mosaic_metadata",
        ),
        "floor (NoOp + 4 copies)": floor,
        "detmix.MixUp": run(detmix.MixUp(p=1), "mixup_metadata"),
        "detmix.MixUp, dataset extras": run_fed(detmix.MixUp(p=1), "mixup_metadata"),
        "detmix.CutMix": run(detmix.CutMix(p=1), "cutmix_metadata"),
    }


def dataset_extra(extra: Sample) -> LazySample:
    """``extra`` as CocoDetection/YoloDetection hand extras to the mixers: boxes validated, pixels lazy."""
    validated = convert_bboxes(extra["bboxes"], "coco", "albumentations", extra["image"].shape[:2])
    annotations = {"bboxes": extra["bboxes"], "labels": extra["labels"]}
    return LazySample(annotations, lambda: {"image": extra["image"]}, ("image",), validated)


FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "coco"
DATASET_ROWS = ("CocoDetection+Mosaic, cache", "CocoDetection+Mosaic, no cache")


def dataset_cases() -> dict[str, Case]:
    """Dataset throughput on the fixture COCO set: Mosaic p=1, extras drawn uniformly, decoded-image cache on and off."""
    cases: dict[str, Case] = {}
    for name, cache_images in zip(DATASET_ROWS, (64, 0)):
        transform = A.Compose(
            [detmix.Mosaic(target_size=TARGET_HW, p=1)],
            bbox_params=A.BboxParams(format="coco", label_fields=["class_labels"], min_visibility=0.1),
            seed=SEED,
        )
        dataset = detmix.CocoDetection(FIXTURES / "images", FIXTURES / "annotations.json", transform, cache_images=cache_images, extras="uniform")
        indices = iter(range(10**12))
        cases[name] = lambda dataset=dataset, indices=indices: dataset[next(indices) % len(dataset)]
    return cases


class FakeDataset:
    """What Ultralytics' mix transforms read from a dataset: in-memory images, normalized xywh boxes.

    Index 0 is the primary; the mosaic buffer holds the extras. Each call returns fresh labels, as
    Ultralytics' own datasets do, because its transforms modify them in place.
    """

    cache = None
    rect = False
    use_obb = False

    def __init__(self, samples: list[Sample], instances_type: type) -> None:
        self.instances_type = instances_type
        self.buffer = list(range(1, len(samples)))
        self.items = []
        for sample in samples:
            (h, w), boxes = sample["image"].shape[:2], sample["bboxes"]
            centres = boxes[:, :2] + boxes[:, 2:4] / 2
            xywhn = np.column_stack([centres, boxes[:, 2:4]]) / np.array([w, h, w, h], dtype=np.float32)
            cls = sample["labels"].astype(np.float32)[:, None]
            self.items.append((sample["image"], cls, xywhn.astype(np.float32)))

    def __len__(self) -> int:
        return len(self.items)

    def get_image_and_label(self, index: int) -> dict[str, Any]:
        """Fresh labels of item ``index`` in Ultralytics' layout (the image itself is not copied)."""
        image, cls, xywhn = self.items[index]
        segments = np.zeros((0, 1000, 2), dtype=np.float32)
        instances = self.instances_type(xywhn.copy(), segments, None, bbox_format="xywh", normalized=True)
        shape = image.shape[:2]
        labels = {"im_file": f"{index}.jpg", "img": image, "ori_shape": shape, "resized_shape": shape}
        return {**labels, "cls": cls.copy(), "instances": instances}


def ultralytics_cases(samples: list[Sample]) -> tuple[dict[str, Case], str | None]:
    """Ultralytics Mosaic+crop and MixUp rows and its version, or no rows when it is not importable."""
    try:
        import ultralytics
        from ultralytics.data.augment import MixUp, Mosaic, RandomPerspective
        from ultralytics.utils.instance import Instances
    except Exception:  # noqa: BLE001 - absent or broken: the comparison is optional
        return {}, None
    dataset = FakeDataset(samples, Instances)
    mosaic = Mosaic(dataset, imgsz=TARGET_HW[0], p=1.0, n=4)
    crop = RandomPerspective(degrees=0, translate=0, scale=0, shear=0, perspective=0, size=TARGET_HW[::-1])
    mixup = MixUp(dataset, p=1.0)
    cases: dict[str, Case] = {
        "ultralytics Mosaic+crop": lambda: crop(mosaic(dataset.get_image_and_label(0))),
        "ultralytics MixUp": lambda: mixup(dataset.get_image_and_label(0)),
    }
    return cases, ultralytics.__version__


def time_case(name: str, case: Case, repeats: int, warmup: int, clock: Callable[[], int] = time.perf_counter_ns) -> Result:
    """Call ``case`` ``warmup`` times untimed, then ``repeats`` times timed one by one on ``clock`` (ns)."""
    for _ in range(warmup):
        case()
    times = np.empty(repeats)
    for i in range(repeats):
        start = clock()
        case()
        times[i] = clock() - start
    return summarise(name, times)


def summarise(name: str, times_ns: Sequence[float] | np.ndarray) -> Result:
    """Median and 10th/90th percentiles, in ms, of per-call times in ns."""
    p10, median, p90 = np.percentile(np.asarray(times_ns) / 1e6, [10, 50, 90])
    return Result(name, float(median), float(p10), float(p90), len(times_ns))


def ratios(results: dict[str, Result], table: Sequence[tuple[str, str, str, str, float]] = RATIOS) -> list[dict[str, Any]]:
    """The ratios of ``table`` (:data:`RATIOS` by default) whose rows were run, with their targets."""
    rows = []
    for label, top, bottom, op, target in table:
        if top in results and bottom in results:
            value = results[top].median_ms / results[bottom].median_ms
            met = value >= target if op == ">=" else value <= target
            rows.append({"ratio": label, "value": value, "target": f"{op} {target:g}", "met": met})
    return rows


def report(results: dict[str, Result], ratio_rows: list[dict[str, Any]]) -> str:
    """The printed table of rows and ratios."""
    lines = [f"{'case':<36}{'median ms':>11}{'p10 ms':>10}{'p90 ms':>10}{'calls':>8}"]
    for r in results.values():
        lines.append(f"{r.name:<36}{r.median_ms:>11.3f}{r.p10_ms:>10.3f}{r.p90_ms:>10.3f}{r.calls:>8}")
    throughput = [results[name] for name in DATASET_ROWS if name in results]
    if throughput:
        lines += ["", f"{'dataset throughput (one process)':<40}{'samples/s':>11}"]
        lines += [f"{r.name:<40}{1000 / r.median_ms:>11.0f}" for r in throughput]
    lines += ["", f"{'ratio':<52}{'value':>8}  {'target':<7} met"]
    for r in ratio_rows:
        lines.append(f"{r['ratio']:<52}{r['value']:>7.2f}x  {r['target']:<7} {'yes' if r['met'] else 'NO'}")
    return "\n".join(lines)


def batch_tables(quick: bool) -> list[dict[str, Any]]:
    """Print and return tools/bench_batch.py's tables (MixUp/CutMix on whole batches); none without torch."""
    try:
        import bench_batch  # tools/ is on sys.path when this file runs as a script
    except ImportError as error:
        print(f"(batch mixing tables left out: {error})")
        return []
    return bench_batch.run(bench_batch.QUICK_REPEATS if quick else bench_batch.DEFAULT_REPEATS)


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    """Command-line options; ``--quick`` overrides ``--repeats``."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--repeats", type=int, default=DEFAULT_REPEATS, help="timed calls per row (%(default)s)")
    parser.add_argument("--quick", action="store_true", help=f"smoke test: {QUICK_REPEATS} timed calls per row")
    parser.add_argument("--json", metavar="PATH", help="also write the results and ratios to PATH as JSON")
    parser.add_argument("--no-ultralytics", action="store_true", help="skip the Ultralytics rows even when importable")
    parser.add_argument("--no-batch", action="store_true", help="skip the batch-mixing tables of tools/bench_batch.py")
    args = parser.parse_args(argv)
    if args.quick:
        args.repeats = QUICK_REPEATS
    if args.repeats < 1:
        parser.error("--repeats must be at least 1")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    """Run every row, print the table and ratios, optionally write JSON; return 0."""
    args = parse_args(argv)
    samples = make_samples()
    cases = albumentations_cases(samples[0], samples[1:]) | dataset_cases()
    ultra_cases, ultra_version = ({}, None) if args.no_ultralytics else ultralytics_cases(samples)
    cases.update(ultra_cases)
    cv2.setNumThreads(1)  # after the optional import: Ultralytics sets its own value
    random.seed(SEED)  # Ultralytics draws from the global generators
    np.random.seed(SEED)

    versions = {"python": sys.version.split()[0], "numpy": np.__version__, "opencv": cv2.__version__}
    versions |= {"albumentations": A.__version__, "detmix": detmix.__version__, "ultralytics": ultra_version}
    print(", ".join(f"{k} {v}" for k, v in versions.items() if v), f"| cv2 threads {cv2.getNumThreads()}")
    warmup = max(3, args.repeats // 10)
    results = {name: time_case(name, case, args.repeats, warmup) for name, case in cases.items()}
    ratio_rows = ratios(results)
    print(report(results, ratio_rows))
    if ultra_version is None:
        print("(ultralytics not importable or skipped: its rows and ratios are left out)")
    batch = [] if args.no_batch else batch_tables(args.quick)
    if args.json:
        with open(args.json, "w") as file:
            payload = {"versions": versions, "results": [asdict(r) for r in results.values()], "ratios": ratio_rows, "batch": batch}
            json.dump(payload, file, indent=2)
    return 0


if __name__ == "__main__":
    sys.exit(main())
