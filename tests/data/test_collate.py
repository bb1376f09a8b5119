"""The two collates: layouts, torchvision's background offset, and one check path for bad samples."""

from __future__ import annotations

import functools
import pickle
from typing import Any, Callable

import albumentations as A
import numpy as np
import pytest

import detmix

torch = pytest.importorskip("torch")
from torch.utils.data import DataLoader  # noqa: E402

pytestmark = pytest.mark.filterwarnings("error")

COLLATES = [detmix.yolo_collate, detmix.torchvision_collate]


def sample(boxes: Any, labels: Any, fmt: str = "pascal_voc", hw: tuple[int, int] = (50, 100), image_id: Any = 7) -> dict[str, Any]:
    return {"image": np.zeros((*hw, 3), np.uint8), "bboxes": boxes, "class_labels": labels, "bbox_format": fmt, "image_id": image_id}


def labels_of(collate: Callable[..., Any], batch: list[dict[str, Any]]) -> list[int]:
    """Class column of yolo_collate, or the labels of torchvision_collate, as one list."""
    _, targets = collate(batch)
    if collate is detmix.yolo_collate:
        return [int(v) for v in targets[:, 1].tolist()]
    return [v for target in targets for v in target["labels"].tolist()]


@pytest.mark.parametrize(
    ("fmt", "box"),
    [("coco", [10, 5, 20, 10]), ("pascal_voc", [10, 5, 30, 15]), ("yolo", [0.2, 0.2, 0.2, 0.2]), ("albumentations", [0.1, 0.1, 0.3, 0.3])],
)
def test_yolo_collate_rows_from_any_format(fmt: str, box: list[float]) -> None:
    images, targets = detmix.yolo_collate([sample([], [], fmt), sample([box, box], [3, 1], fmt)])
    assert images.shape == (2, 3, 50, 100) and images.dtype == torch.uint8
    assert targets.shape == (2, 6) and targets.dtype == torch.float32
    np.testing.assert_allclose(targets.numpy(), [[1, 3, 0.2, 0.2, 0.2, 0.2], [1, 1, 0.2, 0.2, 0.2, 0.2]], atol=1e-6)


def test_yolo_collate_needs_one_image_size() -> None:
    with pytest.raises(ValueError, match="yolo_collate: images of one batch must share a shape"):
        detmix.yolo_collate([sample([], []), sample([], [], hw=(20, 20))])


def test_torchvision_collate_gives_xyxy_pixels_and_int64_labels_after_background() -> None:
    images, targets = detmix.torchvision_collate([sample([[0.2, 0.2, 0.2, 0.2]], [2], "yolo"), sample([], [], "coco", hw=(20, 30))])
    assert [tuple(i.shape) for i in images] == [(3, 50, 100), (3, 20, 30)]
    np.testing.assert_allclose(targets[0]["boxes"].numpy(), [[10, 5, 30, 15]], atol=1e-4)
    assert targets[0]["labels"].dtype == torch.int64 and targets[0]["labels"].tolist() == [3]
    assert targets[0]["image_id"] == 7
    assert targets[1]["boxes"].shape == (0, 4) and targets[1]["labels"].shape == (0,) and targets[1]["labels"].dtype == torch.int64


def test_label_offset_through_partial_a_dataloader_and_pickle() -> None:
    batch = [sample([[1, 2, 3, 4], [5, 6, 7, 8]], [0, 4])]
    assert labels_of(detmix.torchvision_collate, batch) == [1, 5]
    no_background = functools.partial(detmix.torchvision_collate, label_offset=0)
    assert labels_of(no_background, batch) == [0, 4]
    assert labels_of(functools.partial(detmix.torchvision_collate, label_offset=np.int64(3)), batch) == [3, 7]
    restored = pickle.loads(pickle.dumps(no_background))  # what a spawn worker receives
    (_, targets), = DataLoader(batch, batch_size=1, collate_fn=restored)
    assert targets[0]["labels"].tolist() == [0, 4]
    assert labels_of(detmix.yolo_collate, batch) == [0, 4]  # YOLO classes have no background


@pytest.mark.parametrize(("offset", "error", "match"), [(True, TypeError, "got bool"), (1.0, TypeError, "got float"), ("1", TypeError, "got str"), (-1, ValueError, "got -1"), (2**24, ValueError, "in \\[0, 16777216\\)")])
def test_label_offset_is_checked(offset: Any, error: type[Exception], match: str) -> None:
    with pytest.raises(error, match=f"torchvision_collate: expected label_offset .*{match}"):
        detmix.torchvision_collate([sample([], [])], label_offset=offset)


@pytest.mark.parametrize("collate", COLLATES)
@pytest.mark.parametrize("labels", [[1.0, 2.0], (1, 2), np.array([1, 2], np.int32), np.array([1, 2], np.uint8), np.array([1.0, 2.0], np.float32), "tensor"])
def test_integral_labels_of_any_numeric_kind(collate: Callable[..., Any], labels: Any) -> None:
    labels = torch.tensor([1, 2]) if isinstance(labels, str) else labels
    offset = 1 if collate is detmix.torchvision_collate else 0
    assert labels_of(collate, [sample([[1, 2, 3, 4], [5, 6, 7, 8]], labels)]) == [1 + offset, 2 + offset]


@pytest.mark.parametrize("collate", COLLATES)
def test_real_compose_output_float_labels_and_list_boxes(collate: Callable[..., Any]) -> None:
    """Albumentations hands back numeric list labels as floats and list boxes as lists of floats."""
    transform = A.Compose([A.HorizontalFlip(p=1)], bbox_params=A.BboxParams("yolo", label_fields=["class_labels"]))
    out = transform(image=np.zeros((50, 100, 3), np.uint8), bboxes=[[0.5, 0.5, 1, 1], [0.2, 0.2, 0.2, 0.2]], class_labels=[1, 2])
    assert out["class_labels"] == [1.0, 2.0]
    offset = 1 if collate is detmix.torchvision_collate else 0
    assert labels_of(collate, [{**out, "bbox_format": "yolo", "image_id": 1}]) == [1 + offset, 2 + offset]


def test_a_batch_without_any_box() -> None:
    batch = [sample([], []), sample(np.zeros((0, 4), np.float32), np.zeros(0, np.int64))]
    images, rows = detmix.yolo_collate(batch)
    assert images.shape == (2, 3, 50, 100) and rows.shape == (0, 6) and rows.dtype == torch.float32
    _, targets = detmix.torchvision_collate(batch)
    assert [(tuple(t["boxes"].shape), t["boxes"].dtype, tuple(t["labels"].shape), t["labels"].dtype) for t in targets] == [((0, 4), torch.float32, (0,), torch.int64)] * 2


@pytest.mark.parametrize(
    ("fmt", "box", "expected_xyxy"),
    [
        ("pascal_voc", [0, 0, 100, 50], [0, 0, 100, 50]),  # Albumentations' clipping: exactly on the border
        ("pascal_voc", [-0.005, -0.004, 100.009, 50.004], [0, 0, 100, 50]),  # within 1e-4 of the side: rounding
        ("yolo", [0.5, 0.5, 1.0001, 1.0001], [0, 0, 100, 50]),
        ("albumentations", [0.2, 0.2, 1.00009, 0.6], [20, 10, 100, 30]),
    ],
)
def test_rounding_past_the_border_is_clipped(fmt: str, box: list[float], expected_xyxy: list[float]) -> None:
    given = np.array([box])
    _, targets = detmix.torchvision_collate([sample(given, [0], fmt)])
    np.testing.assert_allclose(targets[0]["boxes"].numpy(), [expected_xyxy], atol=1e-4)
    _, rows = detmix.yolo_collate([sample(given, [0], fmt)])
    assert rows[0, 2:].min() >= 0 and (rows[0, 2:4] + rows[0, 4:] / 2).max() <= 1 and (rows[0, 2:4] - rows[0, 4:] / 2).min() >= 0
    np.testing.assert_array_equal(given, [box])  # the sample is not written to


WHERE = "sample 1 \\(image_id 7\\)"


def missing(key: str) -> Callable[[dict[str, Any]], dict[str, Any]]:
    return lambda s: {k: v for k, v in s.items() if k != key}


def setting(**values: Any) -> Callable[[dict[str, Any]], dict[str, Any]]:
    return lambda s: {**s, **values}


BAD_SAMPLES = {
    "no image": (missing("image"), ValueError, "missing \\['image'\\]"),
    "no bboxes": (missing("bboxes"), ValueError, "missing \\['bboxes'\\]"),
    "no class_labels": (missing("class_labels"), ValueError, "missing \\['class_labels'\\]"),
    "string labels": (setting(class_labels=["cat"]), ValueError, "class_labels as integer class indices, got <U3 values \\['cat'\\]"),
    "bool labels": (setting(class_labels=[True]), ValueError, "class_labels as integer class indices, got bool"),
    "None label": (setting(class_labels=[None]), ValueError, "class_labels as integer class indices, got object"),
    "fractional label": (setting(class_labels=[1.5]), ValueError, "class_labels as integers in \\[0, 16777216\\), got 1.5 at position 0"),
    "NaN label": (setting(class_labels=[float("nan")]), ValueError, "class_labels as integers .*got nan"),
    "negative label": (setting(class_labels=[-1]), ValueError, "class_labels as integers .*got -1 at position 0"),
    "label past float32": (setting(class_labels=[2**24]), ValueError, "class_labels as integers .*got 16777216"),
    "2-D labels": (setting(class_labels=[[1]]), ValueError, "class_labels of shape \\(N,\\), got \\(1, 1\\)"),
    "ragged labels": (setting(class_labels=[[1], [1, 2]]), ValueError, "expected class_labels as an array or list of numbers"),
    "too few labels": (setting(class_labels=[]), ValueError, "1 bboxes but 0 class_labels"),
    "NaN box": (setting(bboxes=[[10, float("nan"), 30, 40]]), ValueError, "bboxes\\[0\\] = \\[10.0, nan, 30.0, 40.0\\] \\(pascal_voc\\) is not finite"),
    "inf box": (setting(bboxes=[[10, 5, float("inf"), 40]]), ValueError, "is not finite"),
    "huge box": (setting(bboxes=[[10, 5, 1e300, 40]]), ValueError, "reaches outside the 100 x 50 image"),
    "huge box cancelling out": (setting(bboxes=[[1e300, 5, -1e300, 10]], bbox_format="coco"), ValueError, "reaches outside"),
    "x_max past the width": (setting(bboxes=[[10, 5, 100.02, 40]]), ValueError, "bboxes\\[0\\] = \\[10.0, 5.0, 100.02, 40.0\\] \\(pascal_voc\\) reaches outside the 100 x 50 image by more than 0.0001"),
    "negative y": (setting(bboxes=[[10, -1, 30, 40]]), ValueError, "reaches outside"),
    "yolo cx past 1": (setting(bboxes=[[0.95, 0.5, 0.2, 0.2]], bbox_format="yolo"), ValueError, "\\(yolo\\) reaches outside"),
    "inverted box": (setting(bboxes=[[30, 5, 10, 40]]), ValueError, "bboxes\\[0\\] = \\[30.0, 5.0, 10.0, 40.0\\] \\(pascal_voc\\) has no area"),
    "zero-width coco box": (setting(bboxes=[[10, 5, 0, 10]], bbox_format="coco"), ValueError, "\\(coco\\) has no area"),
    "sliver on the border": (setting(bboxes=[[100, 5, 100.005, 10]]), ValueError, "has no area"),
    "box with 5 values": (setting(bboxes=[[10, 5, 30, 40, 1]]), ValueError, "bboxes of shape \\(N, 4\\), got \\(1, 5\\)"),
    "unwrapped box": (setting(bboxes=[10, 5, 30, 40]), ValueError, "bboxes of shape \\(N, 4\\), got \\(4,\\)"),
    "string boxes": (setting(bboxes="10 5 30 40"), ValueError, "expected bboxes as an array or list of numbers"),
    "dict boxes": (setting(bboxes={"x": 1}), TypeError, "expected bboxes as an array or list of numbers, got dict"),
    "unknown format": (setting(bbox_format="xyxy"), ValueError, "expected bbox_format in \\('coco', 'pascal_voc', 'yolo', 'albumentations'\\), got 'xyxy'"),
    "format not a string": (setting(bbox_format=None), ValueError, "expected bbox_format in .*got None"),
    "float32 image": (setting(image=np.zeros((50, 100, 3), np.float32)), ValueError, "expected image as an H x W x C uint8 array, got float32 of shape \\(50, 100, 3\\)"),
    "gray 2-D image": (setting(image=np.zeros((50, 100), np.uint8)), ValueError, "got uint8 of shape \\(50, 100\\)"),
    "empty image": (setting(image=np.zeros((0, 100, 3), np.uint8)), ValueError, "of shape \\(0, 100, 3\\)"),
    "list image": (setting(image=[[[0, 0, 0]]]), TypeError, "expected image as an H x W x C uint8 numpy array, got list"),
    "tensor image": (setting(image=torch.zeros(3, 50, 100, dtype=torch.uint8)), TypeError, "got Tensor .*drop ToTensorV2"),
}


@pytest.mark.parametrize("collate", COLLATES)
@pytest.mark.parametrize("case", BAD_SAMPLES, ids=list(BAD_SAMPLES))
def test_bad_samples_fail_naming_position_image_id_and_key(collate: Callable[..., Any], case: str) -> None:
    mutate, error, match = BAD_SAMPLES[case]
    good = sample([[10, 5, 30, 40]], [1])
    with pytest.raises(error, match=f"^{collate.__name__}: {WHERE}: .*{match}"):
        collate([good, mutate(good)])


@pytest.mark.parametrize("collate", COLLATES)
def test_batch_and_sample_kinds(collate: Callable[..., Any]) -> None:
    name = collate.__name__
    with pytest.raises(TypeError, match=f"{name}: expected a list of sample dicts, got dict .*batch_size=None"):
        collate(sample([], []))
    with pytest.raises(TypeError, match=f"{name}: sample 1: expected a dict, got tuple"):
        collate([sample([], []), (np.zeros((5, 5, 3), np.uint8), [])])


def test_yolo_collate_refuses_an_empty_batch() -> None:
    with pytest.raises(ValueError, match="yolo_collate: got an empty batch"):
        detmix.yolo_collate([])


@pytest.mark.parametrize("collate", COLLATES)
def test_outputs_do_not_share_memory_with_the_sample(collate: Callable[..., Any]) -> None:
    boxes = np.array([[1, 2, 3, 4]], np.float32)
    image = np.zeros((50, 100, 1), np.uint8)  # one channel: its C x H x W transpose is contiguous
    images, targets = collate([{**sample(boxes, [1]), "image": image}])
    images[0][0, 0, 0] = 99
    if collate is detmix.torchvision_collate:
        targets[0]["boxes"][0, 0] = 99
    else:
        targets[0, 2] = 99
    assert image[0, 0, 0] == 0 and boxes[0, 0] == 1


@pytest.mark.parametrize("channels", [1, 3, 5])
def test_images_are_the_samples_channels_first(channels: int) -> None:
    """Pixel for pixel: C x H x W of each sample, non-contiguous samples included."""
    rng = np.random.default_rng(channels)
    images = [rng.integers(0, 256, (20, 30, channels), dtype=np.uint8), rng.integers(0, 256, (20, 60, channels), dtype=np.uint8)[:, ::2]]
    batch = [{"image": image, "bboxes": [], "class_labels": [], "image_id": i} for i, image in enumerate(images)]
    stacked, _ = detmix.yolo_collate(batch)
    listed, _ = detmix.torchvision_collate(batch)
    for i, image in enumerate(images):
        np.testing.assert_array_equal(stacked[i].numpy(), image.transpose(2, 0, 1))
        np.testing.assert_array_equal(listed[i].numpy(), image.transpose(2, 0, 1))
