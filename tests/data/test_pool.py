"""Extras from a pool of recent samples: about one decode a sample, bounded memory, private outputs."""

from __future__ import annotations

import pickle
import random
import sys
from pathlib import Path
from typing import Any

import albumentations as A
import numpy as np
import pytest

import detmix
from detmix.data import dataset as dataset_module
from detmix.data import images
from detmix.data.feeding import draw_extras
from detmix.data.pool import PixelStore
from tests.data.builders import coco_dataset

pytestmark = pytest.mark.filterwarnings("error")

IMAGE_BYTES = 60 * 80 * 3  # one image of coco_dataset(grow=False)


def pipeline(*transforms: A.BasicTransform, seed: int = 0) -> A.Compose:
    return A.Compose(list(transforms), bbox_params=A.BboxParams("coco", label_fields=["class_labels"]), seed=seed)


def mosaic() -> A.Compose:
    return pipeline(detmix.Mosaic(target_size=(48, 48), p=1))


def flat_dataset(root: Path, n_images: int = 40, transform: A.Compose | None = None, **kwargs: Any) -> detmix.CocoDetection:
    images_dir, ann, _ = coco_dataset(root, n_images, grow=False)
    return detmix.CocoDetection(images_dir, ann, mosaic() if transform is None else transform, **kwargs)


@pytest.fixture
def decodes(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Counts the images decoded (one entry per decode)."""
    counted: list[int] = []
    original = images.decode
    monkeypatch.setattr(images, "decode", lambda data, flags: counted.append(1) or original(data, flags))
    return counted


def epochs(count: int, size: int, seed: int = 0) -> list[int]:
    """``count`` indices as a shuffling sampler gives them: each epoch a new permutation."""
    rng = random.Random(seed)
    order: list[int] = []
    while len(order) < count:
        order += rng.sample(range(size), size)
    return order[:count]


# ----- decodes ---------------------------------------------------------------------------------


@pytest.mark.parametrize(("extras", "most"), [("pool", 1.1), ("uniform", 4)])
def test_a_mosaic_sample_decodes_about_one_image_with_the_pool(tmp_path: Path, decodes: list[int], extras: str, most: float) -> None:
    """No cache, a pool of 16 over 40 images: the primary is decoded, its three partners are not."""
    ds = flat_dataset(tmp_path, cache_images=0, pool_size=16, extras=extras)
    order = epochs(200, len(ds))
    for index in order:
        assert ds[index]["image"].shape == (48, 48, 3)
    assert len(decodes) <= most * len(order)
    assert len(decodes) >= (0.8 if extras == "pool" else 4) * len(order)


def test_the_pool_is_the_default(tmp_path: Path, decodes: list[int]) -> None:
    ds = flat_dataset(tmp_path, n_images=80, cache_images=0)
    for index in epochs(160, len(ds)):
        ds[index]
    assert len(decodes) <= 1.1 * 160 and ds.extras == "pool" and ds._pool.max_count == 64


# ----- which extras ----------------------------------------------------------------------------


def test_extras_are_recent_distinct_others(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    transform = pipeline(detmix.Mosaic(target_size=(48, 48), p=1), detmix.MixUp(p=1))
    ds = flat_dataset(tmp_path, transform=transform, pool_size=8)
    seen: list[tuple[int, list[int], dict[str, list[int]]]] = []
    original = dataset_module.metadata_for

    def spy(mixers: Any, size: int, exclude: int, py_random: Any, make_extra: Any, recent: Any = None) -> dict[str, Any]:
        extras = original(mixers, size, exclude, py_random, make_extra, recent)
        seen.append((exclude, list(recent), {key: [e["image_id"] - 100 for e in group] for key, group in extras.items()}))
        return extras

    monkeypatch.setattr(dataset_module, "metadata_for", spy)
    for index in epochs(60, len(ds)):
        ds[index]
    assert max(len(recent) for _, recent, _ in seen) == 8
    for primary, recent, drawn in seen[1:]:  # the first sample draws from the whole dataset
        assert primary == recent[-1] and len(recent) <= 8, "the primary is the pool's newest sample"
        assert set(drawn) == {"mosaic_metadata", "mixup_metadata"}
        for picks in drawn.values():
            assert len(set(picks)) == len(picks) and primary not in picks and set(picks) <= set(recent)


def test_draws_from_the_pool_then_from_the_whole_dataset() -> None:
    rng = random.Random(0)
    assert sorted(draw_extras(3, 100, exclude=5, py_random=rng, recent=[5, 7, 9, 11, 13])) != [7, 9, 11]
    for _ in range(200):
        picks = draw_extras(3, 100, exclude=5, py_random=rng, recent=[5, 7, 9, 11])
        assert sorted(picks) == [7, 9, 11]
        short = draw_extras(3, 6, exclude=2, py_random=rng, recent=[2, 4])
        assert 4 in short and 2 not in short and len(set(short)) == 3 and max(short) < 6
        assert len(draw_extras(3, 3, exclude=0, py_random=rng, recent=[0, 1])) == 3  # too small: repeats


def test_uniform_draws_are_unchanged() -> None:
    """extras="uniform" draws exactly what every earlier version drew for a seed."""
    for seed in range(20):
        old, new = random.Random(seed), random.Random(seed)
        expected = [i + (i >= 7) for i in old.sample(range(49), 3)]
        assert draw_extras(3, 50, 7, new) == expected


# ----- bounds ----------------------------------------------------------------------------------


def test_the_pool_is_bounded_by_count_and_bytes(tmp_path: Path) -> None:
    by_count = flat_dataset(tmp_path / "a", n_images=12, pool_size=5)
    by_bytes = flat_dataset(tmp_path / "b", n_images=12, pool_bytes=3 * IMAGE_BYTES + 100)
    too_small = flat_dataset(tmp_path / "c", n_images=12, pool_bytes=IMAGE_BYTES - 1)
    for index in epochs(40, 12):
        for ds in (by_count, by_bytes, too_small):
            assert ds[index]["image"].shape == (48, 48, 3)
            assert ds._pool.nbytes == sum(a.nbytes for a in ds._pool.arrays()) <= ds._pool.max_bytes
    assert len(by_count._pool) == 5 and len(by_bytes._pool) == 3 and len(too_small._pool) == 0


def test_the_cache_is_bounded_by_bytes_and_skips_what_cannot_fit(tmp_path: Path) -> None:
    images_dir, ann, _ = coco_dataset(tmp_path, grow=False)
    ds = detmix.CocoDetection(images_dir, ann, cache_images=10, cache_bytes=2 * IMAGE_BYTES + 100)
    for index in range(6):
        ds[index]
    assert ds._cache.indices() == [4, 5] and ds._cache.nbytes == 2 * IMAGE_BYTES
    none = detmix.CocoDetection(images_dir, ann, cache_bytes=IMAGE_BYTES - 1)
    assert none[0]["image"].shape == (60, 80, 3) and len(none._cache) == 0


def test_stores_evict_least_recent_or_oldest_and_hold_read_only_arrays() -> None:
    def pixels(value: int) -> dict[str, np.ndarray]:
        return {"image": np.full((2, 5), value, np.uint8)}

    for lru, kept in ((True, [1, 3]), (False, [2, 3])):
        store = PixelStore(2, 100, lru=lru)
        for index in (1, 2):
            assert store.put(index, pixels(index))
        assert store.get(1)["image"][0, 0] == 1
        store.put(3, pixels(3))
        assert store.indices() == kept and store.nbytes == 20
    assert not store.put(4, {"image": np.zeros(101, np.uint8)}) and 4 not in store
    with pytest.raises(ValueError, match="read-only"):
        store.get(3)["image"][0, 0] = 0
    assert len(pickle.loads(pickle.dumps(store))) == 0


def test_only_a_per_process_store_forgets_what_a_forked_child_inherits() -> None:
    for per_process, kept in ((True, 0), (False, 1)):
        store = PixelStore(4, 1000, lru=False, per_process=per_process)
        store.put(1, {"image": np.zeros(3, np.uint8)})
        assert store.indices() == [1]
        store._pid = -1  # as in a forked DataLoader worker
        assert len(store) == kept and store._pid > 0


# ----- when the pool is not used --------------------------------------------------------------


@pytest.mark.parametrize(
    ("transform", "kwargs", "mixing"),
    [
        (pipeline(A.HorizontalFlip(p=1)), {}, True),
        (mosaic(), {}, False),
        (mosaic(), {"extras": "uniform"}, True),
        (None, {}, True),
    ],
    ids=["no-mixer", "mixing-off", "uniform", "no-transform"],
)
def test_the_pool_stays_empty_without_a_mixer_running(tmp_path: Path, transform: A.Compose | None, kwargs: dict, mixing: bool) -> None:
    images_dir, ann, _ = coco_dataset(tmp_path, grow=False)
    ds = detmix.CocoDetection(images_dir, ann, transform, **kwargs)
    ds.set_mixing(mixing)
    for index in range(len(ds)):
        ds[index]
    assert len(ds._pool) == 0 and len(ds._cache) == len(ds)


# ----- read-only extras -----------------------------------------------------------------------


@pytest.mark.parametrize("mixer", [detmix.Mosaic(target_size=(40, 50), p=1), detmix.MixUp(p=1), detmix.CutMix(p=1)], ids=lambda m: type(m).__name__)
def test_mixers_never_write_into_extras(mixer: A.BasicTransform) -> None:
    """The pool hands its own read-only arrays to the mixers; a write would raise here."""
    rng = np.random.default_rng(0)

    def sample(height: int, width: int) -> dict[str, Any]:
        image, mask = rng.integers(0, 256, (height, width, 3), dtype=np.uint8), rng.integers(0, 3, (height, width), dtype=np.uint8)
        image.flags.writeable = mask.flags.writeable = False
        return {"image": image, "mask": mask, "bboxes": [[2.0, 3.0, 10.0, 8.0]], "class_labels": [1]}

    extras = [sample(30 + 5 * i, 45 - 3 * i) for i in range(3)]
    key = mixer.metadata_key
    out = pipeline(mixer)(**{**sample(40, 50), key: extras})
    assert out["image"].flags.writeable and len(out["bboxes"]) >= 1


def test_stores_hold_their_bounds_under_threads(tmp_path: Path) -> None:
    """A thread-based loader: many threads reading one dataset with a small cache and pool (without the lock: fails most runs)."""
    from concurrent.futures import ThreadPoolExecutor

    ds = flat_dataset(tmp_path, n_images=12, cache_images=2, pool_size=4)
    interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)  # threads interleave as often as Python allows
    try:
        with ThreadPoolExecutor(8) as threads:
            shapes = set(threads.map(lambda i: ds[i % 12]["image"].shape, range(600)))
    finally:
        sys.setswitchinterval(interval)
    assert shapes == {(48, 48, 3)}
    for store in (ds._cache, ds._pool):
        assert len(store) <= store.max_count and store.nbytes == sum(a.nbytes for a in store.arrays())
