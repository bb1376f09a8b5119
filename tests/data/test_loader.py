"""A real multi-worker DataLoader through the collates, per-worker/per-rank seeding and the mixing switch."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import albumentations as A
import numpy as np
import pytest

import detmix
from detmix.data import seeding
from tests.data.builders import coco_dataset

torch = pytest.importorskip("torch")
from torch.utils.data import DataLoader  # noqa: E402

pytestmark = pytest.mark.filterwarnings("error")


def mosaic_dataset(root: Path, seed: int | None = 0) -> detmix.CocoDetection:
    images_dir, ann, _ = coco_dataset(root)
    transform = A.Compose(
        [detmix.Mosaic(target_size=(64, 64), p=1)],
        bbox_params=A.BboxParams("pascal_voc", label_fields=["class_labels"]),
        seed=seed,
    )
    return detmix.CocoDetection(images_dir, ann, transform)


def images_of(loader: DataLoader) -> list[np.ndarray]:
    return [np.asarray(batch[0][0]) for batch in loader]


@pytest.mark.parametrize("collate", [detmix.yolo_collate, detmix.torchvision_collate])
def test_real_dataloader_with_two_workers(tmp_path: Path, collate: Any) -> None:
    loader = DataLoader(mosaic_dataset(tmp_path), batch_size=3, num_workers=2, collate_fn=collate)
    batches = list(loader)
    assert len(batches) == 2
    images, targets = batches[0]
    if collate is detmix.yolo_collate:
        assert images.shape == (3, 3, 64, 64) and targets.shape[1] == 6 and set(targets[:, 0].tolist()) <= {0, 1, 2}
    else:
        assert len(images) == 3 and all(t["boxes"].shape[1] == 4 for t in targets)


def test_workers_differ_and_generator_seed_reproduces(tmp_path: Path) -> None:
    ds = mosaic_dataset(tmp_path)

    def run(seed: int) -> list[np.ndarray]:
        loader = DataLoader(ds, sampler=[0, 0, 0, 0], batch_size=1, num_workers=2, collate_fn=detmix.yolo_collate, generator=torch.Generator().manual_seed(seed))
        return images_of(loader)

    first, again, other = run(1), run(1), run(2)
    assert all(np.array_equal(a, b) for a, b in zip(first, again))
    # Batches 0 and 1 come from workers 0 and 1: the same index, two different augmentations.
    assert not np.array_equal(first[0], first[1])
    assert not all(np.array_equal(a, b) for a, b in zip(first, other))


def test_ranks_get_different_streams(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    ds = mosaic_dataset(tmp_path)
    """Ranks share the DataLoader generator seed (the usual DDP set-up) yet must differ."""
    per_rank = []
    for rank in (0, 1):
        monkeypatch.setattr(seeding, "distributed_rank", lambda rank=rank: rank)
        loader = DataLoader(ds, sampler=[2, 3], batch_size=1, num_workers=1, collate_fn=detmix.yolo_collate, generator=torch.Generator().manual_seed(5))
        per_rank.append(images_of(loader))
    assert not any(np.array_equal(a, b) for a, b in zip(*per_rank))


def test_set_mixing_reaches_persistent_workers_at_the_next_epoch(tmp_path: Path) -> None:
    ds = mosaic_dataset(tmp_path)
    loader = DataLoader(ds, batch_size=2, num_workers=2, persistent_workers=True, collate_fn=detmix.torchvision_collate)
    shapes = {tuple(image.shape) for images, _ in loader for image in images}
    assert shapes == {(3, 64, 64)}
    ds.set_mixing(False)
    assert not ds.mixing_enabled
    shapes = {tuple(image.shape) for images, _ in loader for image in images}
    assert (3, 64, 64) not in shapes and len(shapes) == len(ds)
    ds.set_mixing(True)
    assert {tuple(image.shape) for images, _ in loader for image in images} == {(3, 64, 64)}


def test_mixing_off_in_the_main_process_restores_p(tmp_path: Path) -> None:
    ds = mosaic_dataset(tmp_path)
    ds.set_mixing(False)
    assert ds[0]["image"].shape[:2] == (60, 80)
    assert ds.mixers[0].p == 1


def test_an_unseeded_compose_stays_unseeded_in_a_distributed_main_process(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(seeding, "distributed_rank", lambda: 1)
    assert seeding.worker_seed(None) is None
    assert seeding.worker_seed(7) != seeding.worker_seed(8)


def pooled_dataset(root: Path) -> detmix.CocoDetection:
    """Mosaic fed from a pool of 4 over 12 images: the pool's contents decide the partners."""
    images_dir, ann, _ = coco_dataset(root, n_images=12, grow=False)
    transform = A.Compose([detmix.Mosaic(target_size=(48, 48), p=1)], bbox_params=A.BboxParams("coco", label_fields=["class_labels"]), seed=3)
    return detmix.CocoDetection(images_dir, ann, transform, pool_size=4)


def test_the_pool_replays_with_the_generator_seed_whatever_the_main_process_did(tmp_path: Path) -> None:
    ds = pooled_dataset(tmp_path)

    def run(seed: int) -> list[tuple[np.ndarray, np.ndarray]]:
        loader = DataLoader(ds, batch_size=2, shuffle=True, num_workers=2, collate_fn=detmix.yolo_collate, generator=torch.Generator().manual_seed(seed))
        return [(np.asarray(images), np.asarray(targets)) for _ in range(2) for images, targets in loader]

    first = run(1)
    for index in (5, 0, 7, 3, 9):  # the main process fills its own pool; forked workers must not start from it
        ds[index]
    assert len(ds._pool) == 4
    for again in (run(1), run(1)):
        assert all(np.array_equal(a, b) for pair in zip(first, again) for a, b in zip(*pair))
    assert not all(np.array_equal(a[0], b[0]) for a, b in zip(first, run(2)))
