"""Speed of detmix.batch's MixUp and CutMix next to timm, torchvision v2 and Kornia, on whole batches.

Method (``tools/bench.py`` prints these tables after its own; this file also runs alone):
    * One process, one thread, as in ``tools/bench.py`` (``OMP_NUM_THREADS=1`` before torch is imported).
    * Each workload is one float32 batch from a seeded generator and int64 labels over 1000 classes;
      every row mixes that same batch, on the CPU, and again on CUDA when a GPU is present.
    * Rows are timed call by call in five rounds, each round running every row in turn (one untimed
      call, then a fifth of its calls), so a slow spell of a shared machine falls on every row alike;
      the table gives the median and the 10th/90th percentiles in ms. CPU rows count the CPU time of the calling thread
      (``time.thread_time_ns``; torch works on that one thread here), which keeps other processes of a
      shared machine out of the figures; CUDA rows count wall time, synchronising after each call.
    * Like for like: timm's ``Mixup`` with ``mixup_alpha`` only or ``cutmix_alpha`` only,
      ``label_smoothing=0``, ``mode="batch"``; torchvision's ``v2.MixUp``/``v2.CutMix``; Kornia's
      ``RandomMixUpV2``/``RandomCutMixV2(use_correct_lambda=True)``. Each returns soft or paired targets.
    * timm mixes in place: it overwrites the caller's batch, partners being the reversed batch
      (``x.flip(0)``, not a random permutation). Its rows are timed both that way ("in place") and on a
      fresh copy (``x.clone()`` first, "on a copy"), which is what keeping the caller's batch costs with
      timm. detmix returns a new batch, leaves its input intact and draws a random permutation.
      torchvision pairs each image with its neighbour (``roll(1)``); Kornia draws ``lam`` per sample
      from U(0, 1) and, for CutMix, one box per sample.
    * The floor row is ``batch.clone()``: the least any mixer that returns a new batch must do.
    * CPU figures include the page faults of fresh batch-sized buffers, which come and go with the
      allocator's state (glibc maps chunks over its threshold anew): rows that hold two such buffers
      at once (timm on a copy, torchvision) show it as a wide p10-p90 span.
    * timm, torchvision and Kornia are optional comparators, used when importable, never dependencies.

Usage:
    python tools/bench_batch.py [--repeats N | --quick]
"""

from __future__ import annotations

import os

os.environ["OMP_NUM_THREADS"] = "1"  # before torch is imported, as tools/bench.py does

import argparse  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
import warnings  # noqa: E402
from collections.abc import Callable, Sequence  # noqa: E402
from dataclasses import asdict  # noqa: E402
from typing import Any  # noqa: E402

import torch  # noqa: E402

from bench import Result, ratios, report, summarise  # noqa: E402
from detmix.batch import CutMix, FMix, MixUp  # noqa: E402

NUM_CLASSES = 1000
DEFAULT_REPEATS = 50
QUICK_REPEATS = 5
#: Rows are timed in this many rounds, each running every row in turn (see :func:`time_rows`).
ROUNDS = 5
#: Workloads as (B, C, H, W) per device: an ImageNet-sized batch that a 2-core CPU mixes in a few ms,
#: a CIFAR-sized one, and on a GPU the issue's 256x3x224x224.
WORKLOADS = {"cpu": [(32, 3, 224, 224), (256, 3, 32, 32)], "cuda": [(256, 3, 224, 224)]}
FLOOR = "floor (batch.clone())"
TIMM_ROWS = {
    ("mixup", "in place"): "timm Mixup mixup, in place",
    ("mixup", "on a copy"): "timm Mixup mixup, on a copy",
    ("cutmix", "in place"): "timm Mixup cutmix, in place",
    ("cutmix", "on a copy"): "timm Mixup cutmix, on a copy",
}
RATIOS = [
    ("MixUp speed-up vs timm, in place", TIMM_ROWS["mixup", "in place"], "detmix.batch.MixUp", ">=", 1.5),
    ("MixUp speed-up vs timm, on a copy", TIMM_ROWS["mixup", "on a copy"], "detmix.batch.MixUp", ">=", 1.5),
    ("MixUp speed-up vs torchvision v2.MixUp", "torchvision v2.MixUp", "detmix.batch.MixUp", ">=", 2.0),
    ("MixUp speed-up vs kornia RandomMixUpV2", "kornia RandomMixUpV2", "detmix.batch.MixUp", ">=", 1.0),
    ("CutMix speed-up vs timm, in place", TIMM_ROWS["cutmix", "in place"], "detmix.batch.CutMix", ">=", 1.5),
    ("CutMix speed-up vs timm, on a copy", TIMM_ROWS["cutmix", "on a copy"], "detmix.batch.CutMix", ">=", 1.5),
    ("CutMix speed-up vs torchvision v2.CutMix", "torchvision v2.CutMix", "detmix.batch.CutMix", ">=", 2.0),
    ("CutMix speed-up vs kornia RandomCutMixV2", "kornia RandomCutMixV2", "detmix.batch.CutMix", ">=", 1.0),
]

Case = Callable[[], object]


def detmix_cases(images: torch.Tensor, labels: torch.Tensor) -> dict[str, Case]:
    """The detmix rows and the floor."""
    generator = torch.Generator().manual_seed(0)
    mixers = {
        "detmix.batch.MixUp": MixUp(num_classes=NUM_CLASSES, generator=generator),
        "detmix.batch.CutMix": CutMix(num_classes=NUM_CLASSES, generator=generator),
        "detmix.batch.FMix": FMix(num_classes=NUM_CLASSES, generator=generator),
    }
    cases: dict[str, Case] = {FLOOR: images.clone}
    cases |= {name: (lambda mixer=mixer: mixer(images, labels)) for name, mixer in mixers.items()}
    return cases


def comparator_cases(images: torch.Tensor, labels: torch.Tensor) -> tuple[dict[str, Case], dict[str, str]]:
    """Rows of whichever of timm, torchvision and Kornia import, and their versions."""
    cases: dict[str, Case] = {}
    versions: dict[str, str] = {}
    try:
        import timm
        from timm.data import Mixup
    except Exception:  # noqa: BLE001 - absent or broken: the comparison is optional
        pass
    else:
        versions["timm"] = timm.__version__
        common = {"label_smoothing": 0.0, "num_classes": NUM_CLASSES, "mode": "batch"}
        for kind, alphas in (("mixup", (0.2, 0.0)), ("cutmix", (0.0, 1.0))):
            mixer = Mixup(mixup_alpha=alphas[0], cutmix_alpha=alphas[1], **common)
            # In place: each call mixes what the last one left (values stay in [0, 1]); on a copy:
            # the caller's batch kept intact, as detmix keeps it.
            batch = images.clone()
            cases[TIMM_ROWS[kind, "in place"]] = lambda mixer=mixer, batch=batch: mixer(batch, labels)
            cases[TIMM_ROWS[kind, "on a copy"]] = lambda mixer=mixer: mixer(images.clone(), labels)
    try:
        import torchvision
        from torchvision.transforms import v2
    except Exception:  # noqa: BLE001
        pass
    else:
        versions["torchvision"] = torchvision.__version__
        tv_mixup, tv_cutmix = v2.MixUp(alpha=0.2, num_classes=NUM_CLASSES), v2.CutMix(alpha=1.0, num_classes=NUM_CLASSES)
        cases["torchvision v2.MixUp"] = lambda: tv_mixup(images, labels)
        cases["torchvision v2.CutMix"] = lambda: tv_cutmix(images, labels)
    try:
        import kornia
        from kornia.augmentation import RandomCutMixV2, RandomMixUpV2
    except Exception:  # noqa: BLE001
        pass
    else:
        versions["kornia"] = kornia.__version__
        keys = ["input", "class"]
        kornia_mixup = RandomMixUpV2(data_keys=keys).to(images.device)
        kornia_cutmix = RandomCutMixV2(data_keys=keys, use_correct_lambda=True).to(images.device)
        cases["kornia RandomMixUpV2"] = lambda: kornia_mixup(images, labels)
        cases["kornia RandomCutMixV2"] = lambda: kornia_cutmix(images, labels)
    return cases, versions


def synchronised(case: Case, device: torch.device) -> Case:
    """``case`` followed by a CUDA synchronise, so its time includes the kernels it launched."""
    if device.type != "cuda":
        return case
    return lambda: (case(), torch.cuda.synchronize(device))


def time_rows(cases: dict[str, Case], repeats: int, clock: Callable[[], int]) -> dict[str, Result]:
    """Time every row ``repeats`` times, spread over :data:`ROUNDS` rounds that each run every row in turn.

    Each row's calls in a round are consecutive and follow one untimed call, so each row runs in
    its own steady state (its buffers reused), while a slow spell of a shared machine falls on
    every row alike rather than on whichever row was running.
    """
    rounds = min(ROUNDS, repeats)
    per_round = -(-repeats // rounds)
    times: dict[str, list[int]] = {name: [] for name in cases}
    for _ in range(rounds):
        for name, case in cases.items():
            case()
            for _ in range(per_round):
                start = clock()
                case()
                times[name].append(clock() - start)
    return {name: summarise(name, row) for name, row in times.items()}


def run_workload(shape: tuple[int, int, int, int], device: torch.device, repeats: int) -> tuple[dict[str, Result], list[dict[str, Any]], dict[str, str]]:
    """Time every row on one batch of ``shape`` on ``device``; return results, ratios and versions."""
    generator = torch.Generator().manual_seed(0)
    images = torch.rand(shape, generator=generator).to(device)
    labels = torch.randint(NUM_CLASSES, (shape[0],), generator=generator).to(device)
    others, versions = comparator_cases(images, labels)
    cases = detmix_cases(images, labels) | others
    clock = time.thread_time_ns if device.type == "cpu" else time.perf_counter_ns
    torch.manual_seed(0)  # the comparators draw from torch's and numpy's global generators
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # comparators' deprecation notices are not this table's business
        results = time_rows({name: synchronised(case, device) for name, case in cases.items()}, repeats, clock)
    return results, ratios(results, RATIOS), versions


def run(repeats: int) -> list[dict[str, Any]]:
    """Every workload on the CPU and, when present, on CUDA; print each table and return them as JSON-ready dicts."""
    devices = [torch.device("cpu")] + ([torch.device("cuda")] if torch.cuda.is_available() else [])
    tables = []
    for device in devices:
        for shape in WORKLOADS[device.type]:
            results, ratio_rows, versions = run_workload(shape, device, repeats)
            megabytes = torch.Size(shape).numel() * 4 / 1e6
            title = f"batch mixing, {device.type}, float32 {'x'.join(map(str, shape))} ({megabytes:.1f} MB), {repeats} calls"
            extras = ", ".join(f"{k} {v}" for k, v in versions.items())
            print(f"\n{title} | torch {torch.__version__}, {torch.get_num_threads()} thread(s){', ' + extras if extras else ''}")
            print(report(results, ratio_rows))
            missing = [name for name in ("timm", "torchvision", "kornia") if name not in versions]
            if missing:
                print(f"({', '.join(missing)} not importable: their rows and ratios are left out)")
            rows = [asdict(result) for result in results.values()]
            tables.append({"device": device.type, "shape": list(shape), "results": rows, "ratios": ratio_rows, "versions": versions})
    return tables


def main(argv: Sequence[str] | None = None) -> int:
    """Print the batch tables; return 0."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--repeats", type=int, default=DEFAULT_REPEATS, help="timed calls per row (%(default)s)")
    parser.add_argument("--quick", action="store_true", help=f"smoke test: {QUICK_REPEATS} timed calls per row")
    args = parser.parse_args(argv)
    if args.repeats < 1:
        parser.error("--repeats must be at least 1")
    run(QUICK_REPEATS if args.quick else args.repeats)
    return 0


if __name__ == "__main__":
    sys.exit(main())
