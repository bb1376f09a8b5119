"""Hostile image files and folders: headers only at construction, bombs, truncation, symlinks, argument types, private copies."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import albumentations as A
import cv2
import numpy as np
import pytest
from PIL import Image, ImageFile

import detmix
from detmix.data import headers
from tests.data.builders import coco_dataset, encode, exif_orientation_payload, png_chunk, png_claiming, save_json, yolo_dataset

pytestmark = pytest.mark.filterwarnings("error")

SUFFIXES = [".jpg", ".png", ".bmp", ".tif", ".webp"]


def gradient(height: int = 64, width: int = 96) -> np.ndarray:
    """A smooth BGR image: JPEG keeps it close, and a grey band would stand out."""
    y, x = np.mgrid[:height, :width]
    return np.dstack([x * 255 // width, y * 255 // height, (x + y) % 256]).astype(np.uint8)


def one_image_coco(tmp_path: Path, name: str, data: bytes, **kwargs: object) -> detmix.CocoDetection:
    images_dir, ann, coco = coco_dataset(tmp_path, n_images=1)
    (images_dir / name).write_bytes(data)
    coco["images"][0].update(file_name=name, height=None, width=None)
    return detmix.CocoDetection(images_dir, save_json(ann, coco), **kwargs)


def forbid_decoding(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("pixels decoded")

    monkeypatch.setattr(ImageFile.ImageFile, "load", refuse)
    monkeypatch.setattr(cv2, "imdecode", refuse)
    monkeypatch.setattr(cv2, "imread", refuse)


# ----- construction reads headers, never pixels ----------------------------------------------


def test_construction_never_decodes_even_with_exif_after_the_pixels(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # 12000 x 13000 claimed, eXIf (rotate 90) after IDAT: PIL's getexif would decode all 156 Mpx to find it.
    data = png_claiming(12000, 13000, idat=b"not zlib", extra=png_chunk(b"eXIf", exif_orientation_payload(6)))
    forbid_decoding(monkeypatch)
    ds = one_image_coco(tmp_path, "huge.png", data, max_image_pixels=200_000_000)
    yolo = yolo_dataset(tmp_path / "y", n_images=1)
    (yolo / "im0.png").write_bytes(data)
    for record in (ds.records[0], detmix.YoloDetection(yolo, max_image_pixels=200_000_000).records[0]):
        assert record.image_hw == (13000, 12000) and record.orientation == 6
    monkeypatch.undo()
    with pytest.raises(OSError, match="cannot decode image file .*huge.png"):
        ds[0]


def test_getitem_uses_the_recorded_orientation(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    stored = gradient(60, 80)
    png = encode(tmp_path / "plain.png", stored)
    with_exif = png[:-12] + png_chunk(b"eXIf", exif_orientation_payload(6)) + png[-12:]  # before IEND
    ds = one_image_coco(tmp_path, "img0.png", with_exif)
    monkeypatch.setattr(headers, "exif_orientation", lambda payload: pytest.fail("orientation read again"))
    monkeypatch.setattr(Image.Image, "getexif", lambda self: pytest.fail("orientation read again"))
    image = ds[0]["image"]
    np.testing.assert_array_equal(image, np.rot90(stored[..., ::-1], -1))


@pytest.mark.parametrize("orientation", range(1, 9))
def test_tiff_orientation_is_applied_once(tmp_path: Path, orientation: int) -> None:
    stored = gradient(60, 80)
    Image.fromarray(stored).save(tmp_path / "a.tif", tiffinfo={0x0112: orientation})
    ds = one_image_coco(tmp_path, "img0.tif", (tmp_path / "a.tif").read_bytes())
    expected = detmix.data.images.UPRIGHT.get(orientation, lambda a: a)(stored)
    assert ds.records[0].image_hw == expected.shape[:2]
    np.testing.assert_array_equal(ds[0]["image"], expected)


# ----- decompression bombs -------------------------------------------------------------------


def jpeg_claiming(height: int, width: int) -> bytes:
    ok, data = cv2.imencode(".jpg", gradient(8, 8))
    data = bytearray(data.tobytes())
    sof = data.index(b"\xff\xc0")
    data[sof + 5 : sof + 9] = height.to_bytes(2, "big") + width.to_bytes(2, "big")
    return bytes(data)


def webp_claiming(height: int, width: int) -> bytes:
    vp8x = b"VP8X" + (10).to_bytes(4, "little") + bytes(4) + (width - 1).to_bytes(3, "little") + (height - 1).to_bytes(3, "little")
    return b"RIFF" + (4 + len(vp8x)).to_bytes(4, "little") + b"WEBP" + vp8x


@pytest.mark.parametrize(
    ("name", "data", "size"),
    [
        ("bomb.png", png_claiming(50000, 50000), "50000x50000"),
        ("bomb.jpg", jpeg_claiming(65000, 65000), "65000x65000"),
        ("bomb.webp", webp_claiming(16384, 16384), "16384x16384"),
    ],
    ids=["png", "jpeg", "webp"],
)
def test_bombs_are_skipped_by_name_and_pil_state_is_left_alone(tmp_path: Path, name: str, data: bytes, size: str) -> None:
    limit = Image.MAX_IMAGE_PIXELS
    images_dir, ann, coco = coco_dataset(tmp_path, n_images=3)
    (images_dir / name).write_bytes(data)
    coco["images"][1]["file_name"] = name
    with pytest.warns(UserWarning, match=f"images over max_image_pixels=89478485, skipped \\(1\\): .*{name} \\({size}\\)"):
        ds = detmix.CocoDetection(images_dir, save_json(ann, coco))
    assert [r.image_id for r in ds.records] == [100, 102] and Image.MAX_IMAGE_PIXELS == limit
    yolo = yolo_dataset(tmp_path / "y", n_images=3)
    (yolo / "im1.png").unlink()
    (yolo / name).write_bytes(data)
    with pytest.warns(UserWarning, match=f"images over max_image_pixels=89478485, skipped \\(1\\): .*{name}"):
        assert len(detmix.YoloDetection(yolo)) == 2


def test_max_image_pixels_is_settable(tmp_path: Path) -> None:
    images_dir, ann, _ = coco_dataset(tmp_path, n_images=2)  # 60x80 and 70x88
    with pytest.warns(UserWarning, match="images over max_image_pixels=4800, skipped \\(1\\): .*img1.png \\(70x88\\)"):
        assert len(detmix.CocoDetection(images_dir, ann, max_image_pixels=4800)) == 1
    assert len(detmix.YoloDetection(yolo_dataset(tmp_path / "y"), max_image_pixels=64 * 96)) == 5


def test_a_file_that_became_a_bomb_is_never_decoded(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    images_dir, ann, _ = coco_dataset(tmp_path, n_images=2)
    ds = detmix.CocoDetection(images_dir, ann, cache_images=0)
    (images_dir / "img1.png").write_bytes(png_claiming(50000, 50000))
    forbid_decoding(monkeypatch)
    with pytest.raises(OSError, match="cannot decode image file .*img1.png: its header says 50000x50000, it was 70x88 .*changed"):
        ds[1]


# ----- truncated and corrupt files -----------------------------------------------------------


@pytest.mark.parametrize("suffix", SUFFIXES)
def test_a_truncated_file_is_an_error_at_getitem_never_a_grey_sample(tmp_path: Path, suffix: str) -> None:
    data = encode(tmp_path / f"full{suffix}", gradient())
    ds = one_image_coco(tmp_path, f"img0{suffix}", data, cache_images=0)
    assert ds[0]["image"].shape == (64, 96, 3)
    for cut in (len(data) // 3, 2 * len(data) // 3, len(data) - 2):
        (ds.images_dir / f"img0{suffix}").write_bytes(data[:cut])
        with pytest.raises(OSError, match=f"cannot decode image file .*img0\\{suffix}"):
            ds[0]


def test_a_jpeg_without_its_end_marker_is_refused_even_where_opencv_would_decode_it(tmp_path: Path) -> None:
    data = encode(tmp_path / "full.jpg", gradient(256, 256))
    cut = data[: 2 * len(data) // 3]
    (tmp_path / "cut.jpg").write_bytes(cut)
    assert cv2.imread(str(tmp_path / "cut.jpg")) is not None, "OpenCV reads the cut file as a partly grey image"
    ds = one_image_coco(tmp_path, "img0.jpg", cut)  # the header is intact: the cut shows at __getitem__
    with pytest.raises(OSError, match="cannot decode image file .*img0.jpg: truncated: no JPEG end-of-image marker"):
        ds[0]


def test_bytes_after_the_jpeg_end_marker_are_fine(tmp_path: Path) -> None:
    data = encode(tmp_path / "full.jpg", gradient())
    padded = data + bytes(300) + b"\xff\xd8 trailer of some camera"
    expected = cv2.cvtColor(cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR), cv2.COLOR_BGR2RGB)
    np.testing.assert_array_equal(one_image_coco(tmp_path, "img0.jpg", padded)[0]["image"], expected)


@pytest.mark.parametrize("suffix", [".png", ".bmp", ".tif", ".webp"])
def test_a_truncated_file_is_a_named_skip_where_its_header_shows_it(tmp_path: Path, suffix: str) -> None:
    data = encode(tmp_path / f"full{suffix}", gradient())
    images_dir = yolo_dataset(tmp_path, n_images=2)
    (images_dir / "im1.png").unlink()
    (images_dir / f"im1{suffix}").write_bytes(data[: len(data) // 2])
    with pytest.warns(UserWarning, match=f"unreadable image files, skipped \\(1\\): .*im1\\{suffix} \\(truncated"):
        assert len(detmix.YoloDetection(images_dir)) == 1


def bmp_header(info_size: int = 40, width: int = 1, height: int = 1) -> bytes:
    """A BMP file and info header for 24-bit pixels at byte 54, and no pixels."""
    info = width.to_bytes(4, "little") + height.to_bytes(4, "little") + (1).to_bytes(2, "little") + (24).to_bytes(2, "little")
    return b"BM" + bytes(8) + (54).to_bytes(4, "little") + info_size.to_bytes(4, "little") + info + bytes(24)


def tiff_with_entries(count: int) -> bytes:
    return b"II*\x00" + (8).to_bytes(4, "little") + count.to_bytes(2, "little") + bytes(24)


@pytest.mark.parametrize(
    ("name", "data", "reason"),
    [
        ("empty.png", b"", "empty file"),
        ("zero.png", png_claiming(0, 10), "empty image: PNG header says 0x10"),
        ("text.jpg", b"plain text, no image", "not a JPEG, PNG, BMP, TIFF or WebP image"),
        ("gif.jpg", b"GIF89a\x01\x00\x01\x00" + bytes(20), "not a JPEG"),
        ("huge_header.bmp", bmp_header(info_size=0xFFFFFFFF), "unsupported BMP: info header size 4294967295"),
        ("wide.bmp", bmp_header(width=1 << 30), "truncated: the BMP pixel array"),
        ("entries.tif", tiff_with_entries(65535), "truncated or corrupt: TIFF directory entries"),
        ("chunk.png", png_claiming(10, 10)[:33] + (1 << 31).to_bytes(4, "big") + b"IDAT", "corrupt PNG"),
        ("riff.webp", b"RIFF" + (1 << 31).to_bytes(4, "little") + b"WEBPVP8X", "truncated: the WebP RIFF size"),
    ],
)
def test_hostile_headers_are_named_skips(tmp_path: Path, name: str, data: bytes, reason: str) -> None:
    images_dir = yolo_dataset(tmp_path, n_images=2)
    (images_dir / name).write_bytes(data)
    with pytest.warns(UserWarning, match=f"unreadable image files, skipped \\(1\\): .*{name} \\({reason}"):
        assert len(detmix.YoloDetection(images_dir)) == 2


def test_folders_fifos_and_odd_names(tmp_path: Path) -> None:
    images_dir = yolo_dataset(tmp_path, n_images=2)
    (images_dir / "folder.jpg").mkdir()
    write = encode(images_dir / "folder.jpg" / "inside.png", gradient())
    name = os.fsdecode(b"caf\xe9-\xff.png")  # not UTF-8: a str with surrogates
    (images_dir / name).write_bytes(write)
    if hasattr(os, "mkfifo"):
        os.mkfifo(images_dir / "pipe.jpg")
        with pytest.warns(UserWarning, match="unreadable image files, skipped \\(1\\): .*pipe.jpg \\(not a regular file"):
            ds = detmix.YoloDetection(images_dir)
    else:
        ds = detmix.YoloDetection(images_dir)
    assert sorted(r.image_id for r in ds.records) == sorted([name, "folder.jpg/inside.png", "im0.png", "im1.png"])
    assert all(ds[i]["image"].shape[2] == 3 for i in range(len(ds)))
    images_dir, ann, coco = coco_dataset(tmp_path / "c", n_images=2)
    (images_dir / "dir.png").mkdir()
    coco["images"][1]["file_name"] = "dir.png"
    with pytest.warns(UserWarning, match="unreadable image files, skipped \\(1\\): .*dir.png \\(not a regular file"):
        assert len(detmix.CocoDetection(images_dir, save_json(ann, coco))) == 1


# ----- symlinks ------------------------------------------------------------------------------

needs_symlinks = pytest.mark.skipif(sys.platform == "win32", reason="symlinks need privileges on Windows")


@needs_symlinks
def test_coco_file_names_resolving_outside_need_follow_symlinks(tmp_path: Path) -> None:
    images_dir, ann, coco = coco_dataset(tmp_path / "data", n_images=2)
    encode(tmp_path / "store" / "a" / "blob.png", gradient(70, 88))
    (images_dir / "img1.png").unlink()
    (images_dir / "img1.png").symlink_to(tmp_path / "store" / "a" / "blob.png")
    with pytest.raises(ValueError, match="COCO image id 101: file_name 'img1.png': .*outside images_dir .*follow_symlinks=True"):
        detmix.CocoDetection(images_dir, ann)
    (images_dir / "img1.png").unlink()
    (images_dir / "sub").symlink_to(tmp_path / "store" / "a")
    coco["images"][1]["file_name"] = "sub/blob.png"
    with pytest.raises(ValueError, match="COCO image id 101: file_name 'sub/blob.png'"):
        detmix.CocoDetection(images_dir, save_json(ann, coco))
    assert detmix.CocoDetection(images_dir, ann, follow_symlinks=True)[1]["image"].shape == (70, 88, 3)


@needs_symlinks
def test_coco_symlinks_inside_images_dir_are_fine(tmp_path: Path) -> None:
    images_dir, ann, coco = coco_dataset(tmp_path, n_images=2)
    (images_dir / "alias.png").symlink_to(images_dir / "img1.png")
    coco["images"][1]["file_name"] = "alias.png"
    assert len(detmix.CocoDetection(images_dir, save_json(ann, coco))) == 2


@needs_symlinks
@pytest.mark.parametrize("link", ["file", "folder", "label"])
def test_yolo_symlinks_resolving_outside_need_follow_symlinks(tmp_path: Path, link: str) -> None:
    images_dir = yolo_dataset(tmp_path / "data", n_images=2)
    store = tmp_path / "store"
    encode(store / "blob.png", gradient())
    (store / "blob.txt").write_text("1 0.5 0.5 0.2 0.2\n")
    if link == "file":
        (images_dir / "linked.png").symlink_to(store / "blob.png")
    elif link == "folder":
        (images_dir / "linked").symlink_to(store)
    else:
        (tmp_path / "data" / "labels" / "train" / "im0.txt").unlink()
        (tmp_path / "data" / "labels" / "train" / "im0.txt").symlink_to(store / "blob.txt")
    culprit = {"file": "image: .*linked.png", "folder": "image folder: .*linked", "label": "label file: .*im0.txt"}[link]
    with pytest.raises(ValueError, match=f"YoloDetection: {culprit} resolves to .*outside .*follow_symlinks=True"):
        detmix.YoloDetection(images_dir)
    ds = detmix.YoloDetection(images_dir, follow_symlinks=True)
    assert len(ds) == (2 if link == "label" else 3)
    assert all(ds[i]["image"].shape == (64, 96, 3) for i in range(len(ds)))


@needs_symlinks
def test_yolo_symlink_loops_and_aliases_are_walked_once(tmp_path: Path) -> None:
    images_dir = yolo_dataset(tmp_path, n_images=2)
    (images_dir / "loop").symlink_to(images_dir)
    (images_dir / "self.png").symlink_to(images_dir / "self.png")
    with pytest.warns(UserWarning, match="unreadable image files, skipped \\(1\\): .*self.png"):
        ds = detmix.YoloDetection(images_dir)
    assert [r.image_id for r in ds.records] == ["im0.png", "im1.png"]
    with pytest.warns(UserWarning, match="self.png"):
        assert len(detmix.YoloDetection(images_dir, follow_symlinks=True)) == 2


# ----- argument types --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        ({"cache_images": "a"}, TypeError, "cache_images: expected an int >= 0, got str 'a'"),
        ({"cache_images": True}, TypeError, "cache_images: expected an int >= 0, got bool"),
        ({"cache_images": 2.0}, TypeError, "cache_images: expected an int >= 0, got float"),
        ({"cache_images": -1}, ValueError, "cache_images: expected an int >= 0, got -1"),
        ({"follow_symlinks": "yes"}, TypeError, "follow_symlinks: expected True or False, got str"),
        ({"follow_symlinks": 1}, TypeError, "follow_symlinks: expected True or False, got int"),
        ({"max_image_pixels": 0}, ValueError, "max_image_pixels: expected an int >= 1, got 0"),
        ({"max_image_pixels": 1e9}, TypeError, "max_image_pixels: expected an int >= 1, got float"),
        ({"max_image_pixels": None}, TypeError, "max_image_pixels: expected an int >= 1, got NoneType"),
        ({"cache_bytes": -1}, ValueError, "cache_bytes: expected an int >= 0, got -1"),
        ({"cache_bytes": 1.5e9}, TypeError, "cache_bytes: expected an int >= 0, got float"),
        ({"extras": "random"}, ValueError, r"extras: expected one of \('pool', 'uniform'\), got 'random'"),
        ({"extras": None}, ValueError, r"extras: expected one of \('pool', 'uniform'\), got None"),
        ({"pool_size": 0}, ValueError, "pool_size: expected an int >= 1, got 0"),
        ({"pool_size": "64"}, TypeError, "pool_size: expected an int >= 1, got str '64'"),
        ({"pool_bytes": 0}, ValueError, "pool_bytes: expected an int >= 1, got 0"),
        ({"max_size": 0}, ValueError, "max_size: expected an int >= 1 or None, got 0"),
        ({"max_size": 640.0}, TypeError, "max_size: expected an int >= 1 or None, got float"),
        ({"max_size": True}, TypeError, "max_size: expected an int >= 1 or None, got bool"),
        ({"verbose": 1}, TypeError, "verbose: expected True or False, got int"),
    ],
)
def test_shared_keyword_arguments_are_checked_by_name(tmp_path: Path, kwargs: dict, error: type, message: str) -> None:
    images_dir, ann, _ = coco_dataset(tmp_path, n_images=1)
    with pytest.raises(error, match=message):
        detmix.CocoDetection(images_dir, ann, **kwargs)
    with pytest.raises(error, match=message):
        detmix.YoloDetection(yolo_dataset(tmp_path / "y", n_images=1), **kwargs)


def test_numpy_integers_are_ints(tmp_path: Path) -> None:
    images_dir, ann, _ = coco_dataset(tmp_path, n_images=1)
    ds = detmix.CocoDetection(images_dir, ann, cache_images=np.int64(2), max_image_pixels=np.uint32(10**6), pool_size=np.int32(3), max_size=np.int64(50))
    assert len(ds) == 1 and type(ds.max_size) is int and ds.records[0].image_hw == (38, 50)


def test_images_dir_must_be_a_folder_path(tmp_path: Path) -> None:
    images_dir, ann, _ = coco_dataset(tmp_path, n_images=1)
    yolo = yolo_dataset(tmp_path / "y", n_images=1)
    coco, yolo_source = (lambda d: detmix.CocoDetection(d, ann)), (lambda d: detmix.YoloDetection(d, labels_dir=yolo.parent))
    for build, expected, not_a_folder in (
        (coco, "images_dir: expected a folder path, got int 3", "images_dir: .*img0.png is not a folder"),
        (yolo_source, "source: expected an images folder, a dataset root or a data.yaml path, got int 3", "source: .*img0.png is a file, not a folder or a data.yaml"),
    ):
        with pytest.raises(TypeError, match=expected):
            build(3)
        with pytest.raises(ValueError, match=not_a_folder):
            build(images_dir / "img0.png")


# ----- what a dataset returns is its caller's own ----------------------------------------------


def kept_arrays(ds: detmix.CocoDetection) -> list[np.ndarray]:
    return [*ds._cache.arrays(), *ds._pool.arrays(), *(a for r in ds.records for a in (r.bboxes, r.class_labels))]


def pipeline(*transforms: A.BasicTransform) -> A.Compose:
    return A.Compose(list(transforms), bbox_params=A.BboxParams("coco", label_fields=["class_labels"]), seed=0)


@pytest.mark.parametrize(
    ("transform", "mixing"),
    [
        (None, True),
        (pipeline(A.NoOp()), True),
        (pipeline(detmix.Mosaic(target_size=(64, 64), p=0.0)), True),
        (pipeline(detmix.MixUp(p=1.0)), False),
        (pipeline(detmix.MixUp(p=1.0), detmix.CutMix(p=1.0)), True),
    ],
    ids=["none", "noop", "p0", "switched-off", "mixing"],
)
def test_samples_never_share_memory_with_cache_or_records(tmp_path: Path, transform: A.Compose | None, mixing: bool) -> None:
    images_dir, ann, _ = coco_dataset(tmp_path, n_images=3)
    ds = detmix.CocoDetection(images_dir, ann, transform, masks=True, cache_images=8)
    ds.set_mixing(mixing)
    for _ in range(2):  # the second round is served from the cache
        for index in range(len(ds)):
            out = ds[index]
            for value in (v for v in out.values() if isinstance(v, np.ndarray)):
                assert value.flags.writeable
                assert not any(np.shares_memory(value, kept) for kept in kept_arrays(ds))
    assert len(ds._cache) == 3
    assert len(ds._pool) == (3 if mixing and ds.mixers else 0), "the pool holds the samples whenever a mixer may run"


def test_lazy_extras_are_private_copies(tmp_path: Path) -> None:
    images_dir, ann, _ = coco_dataset(tmp_path, n_images=3)
    ds = detmix.CocoDetection(images_dir, ann, pipeline(detmix.MixUp(p=1.0)), masks=True)
    ds[1]
    before = ds._lazy(1, "coco")["image"]
    extra = ds._lazy(1, "coco")
    for key in ("image", "mask", "bboxes", "class_labels"):
        assert not any(np.shares_memory(extra[key], kept) for kept in kept_arrays(ds))
    extra["image"][:] = 0  # a transform writing into its extra
    np.testing.assert_array_equal(ds._lazy(1, "coco")["image"], before)
    assert not ds.records[1].bboxes.flags.writeable and not ds.records[1].class_labels.flags.writeable
