"""Image preprocessing equals the seeds' reference bit for bit, and refuses bad files clearly."""

from __future__ import annotations

import doctest
import io
import struct
import zlib
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest
import seed_reference as seed
import torch
from media_factory import encode_image, make_photo, make_png, photo_array
from PIL import Image

from model_backend.preprocess import (
    MediaError,
    images,
    load_image,
    load_image_with_plan,
    open_image,
    plan_tiles,
    tiling,
    visual_tokens,
)
from model_backend.preprocess.tiling import candidate_grids


def seed_grid(width: int, height: int, max_num: int, min_num: int = 1) -> tuple[int, int]:
    ratios = sorted(
        {(i, j) for n in range(min_num, max_num + 1) for i in range(1, n + 1) for j in range(1, n + 1)
         if min_num <= i * j <= max_num},
        key=lambda x: x[0] * x[1],
    )  # fmt: skip
    return seed.find_closest_aspect_ratio(width / height, ratios, width, height, 448)


SIZES = [(1, 1), (1, 5000), (5000, 1), (448, 448), (896, 448), (800, 600), (1920, 1080), (1080, 1920),
         (1000, 1000), (224, 448), (300, 200), (2000, 1000), (3, 7), (7000, 20), (640, 480), (1344, 896)]  # fmt: skip


@pytest.mark.parametrize("max_tiles", [1, 2, 3, 6, 12, 24, 40])
def test_plan_tiles_picks_the_seeds_grid_for_many_shapes(max_tiles: int) -> None:
    rng = np.random.default_rng(max_tiles)
    shapes = SIZES + [tuple(int(v) for v in rng.integers(1, 6000, 2)) for _ in range(150)]
    for w, h in shapes:
        plan = plan_tiles(w, h, max_tiles=max_tiles)
        assert (plan.columns, plan.rows) == seed_grid(w, h, max_tiles), (w, h)


def test_plan_tiles_resolves_exact_ties_like_the_seeds() -> None:
    # 5:4 image with only 1x2 / 2x1 allowed: equal distance, the area rule and set order decide.
    for w, h in [(500, 400), (5000, 4000), (50, 40)]:
        for lo, hi in [(2, 2), (2, 4), (3, 8)]:
            plan = plan_tiles(w, h, max_tiles=hi, min_tiles=lo)
            assert (plan.columns, plan.rows) == seed_grid(w, h, hi, lo)
    # 2:1 image exactly between... the larger 4x2 grid wins once the image is big enough.
    assert (plan_tiles(896, 448, 12).columns, plan_tiles(896, 448, 12).rows) == seed_grid(896, 448, 12)
    assert plan_tiles(4000, 2000, 12).tile_count == 9  # 4x2 + thumbnail


def test_tile_plan_boxes_and_token_cost() -> None:
    plan = plan_tiles(4000, 3000, max_tiles=12)
    assert (plan.columns, plan.rows, plan.thumbnail, plan.tile_count) == (4, 3, True, 13)
    assert plan.boxes[0] == (0, 0, 448, 448) and plan.boxes[4] == (0, 448, 448, 896)
    assert plan.boxes[-1] == (1344, 896, 1792, 1344)
    assert visual_tokens(plan.tile_count) == 13 * 256
    single = plan_tiles(448, 448)
    assert (single.tile_count, single.thumbnail) == (1, False)
    assert candidate_grids(1, 2) == ((1, 1), (1, 2), (2, 1))


@pytest.mark.parametrize("size", SIZES)
def test_load_image_equals_seed_load_image(size: tuple[int, int]) -> None:
    data = make_png(*size, seed=sum(size))
    for max_tiles in (1, 6, 12):
        ours = load_image(data, max_tiles=max_tiles)
        assert ours.dtype == torch.float32
        assert torch.equal(ours, seed.load_image(io.BytesIO(data), max_num=max_tiles)), (size, max_tiles)


def test_load_image_equals_seed_for_a_jpeg_photo_and_large_tile_budgets() -> None:
    data = make_photo(1200, 700, seed=3)
    for max_tiles in (2, 12, 40):
        assert torch.equal(load_image(data, max_tiles), seed.load_image(io.BytesIO(data), max_num=max_tiles))


PHOTO_SHAPES = [(4000, 3000), (600, 5000), (5000, 300), (333, 777), (97, 2000), (2000, 97), (1500, 1100)]


@pytest.mark.parametrize("size", PHOTO_SHAPES, ids=[f"{w}x{h}" for w, h in PHOTO_SHAPES])
def test_load_image_equals_seed_for_photos_of_many_shapes(size: tuple[int, int]) -> None:
    # Tall and wide sources take Pillow's two resize passes in either order; both must match.
    data = make_photo(*size, seed=sum(size))
    for max_tiles in (1, 12):
        assert torch.equal(load_image(data, max_tiles), seed.load_image(io.BytesIO(data), max_num=max_tiles)), size


@pytest.mark.parametrize("save", [{"progressive": True}, {"subsampling": 0}], ids=["progressive", "4:4:4"])
def test_load_image_equals_seed_for_other_jpeg_encodings(save: dict) -> None:
    buf = io.BytesIO()
    Image.fromarray(photo_array(1201, 803, seed=5)).save(buf, format="JPEG", **save)
    data = buf.getvalue()
    assert torch.equal(load_image(data, 6), seed.load_image(io.BytesIO(data), max_num=6))


def test_images_loaded_at_once_from_several_threads_equal_the_seeds() -> None:
    # Sessions share the thumbnail threads (and may share one PIL image): no result may mix.
    photos = [make_photo(900 + 37 * k, 700, seed=k) for k in range(4)]
    expected = [seed.load_image(io.BytesIO(data), max_num=6) for data in photos]
    shared = Image.open(io.BytesIO(photos[0])).convert("RGB")
    with ThreadPoolExecutor(max_workers=6) as pool:
        results = list(pool.map(lambda data: load_image(data, 6), photos + photos))
        same_image = list(pool.map(lambda _: load_image(shared, 6), range(4)))
    assert all(torch.equal(a, b) for a, b in zip(results, expected + expected, strict=True))
    assert all(torch.equal(a, expected[0]) for a in same_image)


@pytest.mark.parametrize("mode", ["L", "LA", "P", "RGBA", "I;16", "1"])
def test_every_png_mode_converts_like_the_seeds(mode: str) -> None:
    data = make_png(500, 300, seed=1, mode=mode)
    assert Image.open(io.BytesIO(data)).mode == mode
    assert torch.equal(load_image(data, 6), seed.load_image(io.BytesIO(data), max_num=6))


def test_cmyk_jpeg_and_palette_gif_convert_like_the_seeds() -> None:
    base = Image.fromarray(photo_array(320, 240, seed=2))
    for data in (encode_image(base.convert("CMYK"), "JPEG"), encode_image(base.convert("P"), "GIF")):
        assert torch.equal(load_image(data, 4), seed.load_image(io.BytesIO(data), max_num=4))


def test_all_source_kinds_give_the_same_tensor(tmp_path) -> None:
    data = make_photo(640, 480)
    path = tmp_path / "photo.jpg"
    path.write_bytes(data)
    expected = seed.load_image(str(path), max_num=6)
    for source in (str(path), path, data, io.BytesIO(data), Image.open(path)):
        assert torch.equal(load_image(source, 6), expected)


def test_exif_orientation_is_not_applied_like_the_seeds() -> None:
    img = Image.fromarray(photo_array(300, 200))
    exif = Image.Exif()
    exif[0x0112] = 6  # "rotate 90" tag
    buf = io.BytesIO()
    img.save(buf, format="JPEG", exif=exif)
    assert open_image(buf.getvalue()).size == (300, 200)


def test_dynamic_false_is_one_fixed_tile_like_clip_image_processor() -> None:
    from transformers import CLIPImageProcessor

    processor = CLIPImageProcessor(
        size={"shortest_edge": 448}, crop_size={"height": 448, "width": 448}, resample=3,
        image_mean=[0.485, 0.456, 0.406], image_std=[0.229, 0.224, 0.225],
    )  # fmt: skip
    data = make_photo(900, 500)
    ours, plan = load_image_with_plan(data, 12, dynamic=False)
    reference = processor(images=Image.open(io.BytesIO(data)).resize((448, 448)), return_tensors="pt").pixel_values
    assert ours.shape == (1, 3, 448, 448) and plan.tile_count == 1
    assert torch.equal(ours, reference)


def _png_header_only(width: int, height: int) -> bytes:
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)

    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    # A valid header claiming huge dimensions, with (far too little) pixel data: a cheap "bomb".
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\0" * 64)) + chunk(b"IEND", b"")


@pytest.mark.parametrize(("width", "height"), [(8000, 8000), (30000, 30000)])
def test_oversized_images_are_refused_before_decoding(width: int, height: int) -> None:
    with pytest.raises(MediaError, match="megapixels"):
        open_image(_png_header_only(width, height))


def test_real_8000px_png_is_refused_with_its_size() -> None:
    data = encode_image(Image.new("L", (8000, 8000)), "PNG")  # ~60 kB on disk, 64 MP in memory
    with pytest.raises(MediaError, match="8000×8000 pixels \\(64 megapixels\\); the limit is 50 megapixels"):
        load_image(data)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "empty"),
        (b"hello, this is a text file\n" * 20, "not an image this app can read"),
        (b"\x89PNG\r\n\x1a\n" + b"\x00" * 40, "not an image this app can read"),
        (make_photo(400, 300)[:3000], "damaged or incomplete"),
    ],
    ids=["empty", "text", "corrupt-png", "truncated-jpeg"],
)
def test_bad_files_raise_media_error(data: bytes, message: str) -> None:
    with pytest.raises(MediaError, match=message):
        load_image(data)


def test_module_examples() -> None:
    for module in (images, tiling):
        assert doctest.testmod(module).failed == 0, module.__name__


def test_missing_path_names_the_file(tmp_path) -> None:
    with pytest.raises(MediaError, match=r"nothere\.png"):
        open_image(tmp_path / "nothere.png")


def test_an_empty_file_on_disk_is_called_empty(tmp_path) -> None:
    path = tmp_path / "empty.png"
    path.write_bytes(b"")
    with pytest.raises(MediaError) as caught:
        open_image(path)
    assert caught.value.text.key == "media.image.empty"
