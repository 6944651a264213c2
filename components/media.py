"""Image inputs and previews: upload or example gallery, thumbnails, and the tile-grid preview.

Decoding goes through `model_backend.preprocess` (which raises `MediaError` with a message meant
for the user), once per upload: the check, the thumbnail, the tile preview and the grounding
boxes all start from `decoded(data)`. What is kept per session is bytes, never PIL objects.
"""

from __future__ import annotations

import io
import json
from dataclasses import dataclass
from pathlib import Path

import streamlit as st
from PIL import Image, ImageDraw

from model_backend.conversation import ImageAttachment, Turn
from model_backend.image_config import DEFAULT_IMAGE_CONFIG, ImageConfig

IMAGE_TYPES = ["png", "jpg", "jpeg", "webp", "bmp", "gif", "tiff", "tif"]
EXAMPLES_DIR = Path(__file__).resolve().parent.parent / "assets" / "examples"
PREVIEW_SIDE = 640


@dataclass(frozen=True)
class Example:
    path: Path
    title: str
    prompt: str


def examples() -> list[Example]:
    index = json.loads((EXAMPLES_DIR / "examples.json").read_text())
    return [Example(EXAMPLES_DIR / e["file"], e["title"], e["prompt"]) for e in index]


def check_image(data: bytes, name: str) -> str | None:
    """The user-facing problem with an image file, or None when it opens."""
    from model_backend.preprocess.errors import MediaError

    try:
        _size(data)
    except MediaError as error:
        return f"{name}: {error}"
    return None


@st.cache_resource(show_spinner=False, max_entries=8)  # the multi-image page's 6 images, and some
def _decode(data: bytes) -> Image.Image | Exception:
    """The upload decoded (RGB), or its `MediaError`; shared read-only, so never modify it."""
    from model_backend.preprocess.errors import MediaError
    from model_backend.preprocess.images import open_image

    try:
        return open_image(data)
    except MediaError as error:
        return error  # kept too: a bad file is not decoded again on every rerun


def decoded(data: bytes) -> Image.Image:
    """The one decode of an upload that every check and preview shares; raises `MediaError`."""
    image = _decode(data)
    if isinstance(image, Exception):
        raise image.with_traceback(None)  # the cached error, without the last raise's frames
    return image


@st.cache_data(show_spinner=False, max_entries=64)
def _size(data: bytes) -> tuple[int, int]:
    return decoded(data).size


@st.cache_data(show_spinner=False, max_entries=64)
def thumbnail_png(data: bytes, side: int = 256) -> bytes:
    """A small PNG of any image the backend can open (browsers cannot show TIFF or BMP)."""
    image = decoded(data).copy()  # `thumbnail` works in place
    image.thumbnail((side, side))
    return _png(image)


def _png(image: Image.Image) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


def show_attachments(turn: Turn) -> None:
    """Thumbnails of a turn's images (labelled Image-k when there are several) or its video settings."""
    if turn.images:
        labelled = len(turn.images) > 1
        columns = st.columns(min(len(turn.images), 6))
        for number, image in enumerate(turn.images, start=1):
            caption = f"Image-{number}: {image.name}" if labelled else image.name
            with columns[(number - 1) % len(columns)]:
                _thumbnail(image, caption)
    if turn.video is not None:
        video = turn.video
        span = ""
        if video.start_s is not None or video.end_s is not None:
            span = f", {video.start_s or 0:.1f}s to {'end' if video.end_s is None else f'{video.end_s:.1f}s'}"
        st.caption(
            f":material/movie: {video.name}: {video.num_frames} frames{span}, {video.tiles_per_frame} tile(s) per frame"
        )


def _thumbnail(image: ImageAttachment, caption: str) -> None:
    problem = check_image(image.data, image.name)
    if problem:
        st.caption(f":material/warning: {problem}")
    else:
        st.image(thumbnail_png(image.data), caption=caption, width=160)


def image_picker(page: str) -> tuple[ImageAttachment | None, str | None]:
    """Upload, example gallery or no image. Returns the image and, for an example, its suggested prompt."""
    source = st.segmented_control(
        "Image", ["Upload", "Example", "No image"], default="Upload", key=f"source_{page}", required=True
    )
    if source == "Upload":
        uploaded = st.file_uploader("Upload an image", type=IMAGE_TYPES, key=f"upload_{page}")
        if uploaded is None:
            return None, None
        image = ImageAttachment(uploaded.getvalue(), uploaded.name)
        problem = check_image(image.data, image.name)
        if problem:
            st.error(problem)
            return None, None
        return image, None
    if source == "Example":
        from streamlit_image_select import image_select

        gallery = examples()
        chosen = image_select(
            "Pick an example",
            [str(e.path) for e in gallery],
            captions=[e.title for e in gallery],
            return_value="index",
            key=f"gallery_{page}",
        )
        example = gallery[chosen]
        return ImageAttachment(example.path.read_bytes(), example.path.name), example.prompt
    return None, None


def image_config() -> ImageConfig:
    """How the model answering this session tiles images: the loaded local model's own configuration,
    else (nothing loaded yet, or a server) the InternVL2 defaults."""
    from components import model_cache, state

    loaded = None if state.backend() == "server" else model_cache.loaded_model()
    return loaded.image_config if loaded is not None else DEFAULT_IMAGE_CONFIG


@st.cache_data(show_spinner=False, max_entries=32)
def tile_preview(data: bytes, max_tiles: int, config: ImageConfig = DEFAULT_IMAGE_CONFIG) -> tuple[bytes, str]:
    """A PNG of the image resized to its tile grid with the grid drawn on it, and a caption of the cost."""
    image = decoded(data)
    plan = config.plan(*image.size, max_tiles=max_tiles)
    width, height = plan.resized_size
    scale = min(1.0, PREVIEW_SIDE / max(width, height))
    shown = image.resize((max(1, round(width * scale)), max(1, round(height * scale))))
    draw = ImageDraw.Draw(shown)
    for left, top, right, bottom in plan.boxes:
        box = [round(left * scale), round(top * scale), round(right * scale) - 1, round(bottom * scale) - 1]
        draw.rectangle(box, outline="#ff2b2b", width=2)
    tokens = f"{config.visual_tokens(plan.tile_count):,} visual tokens"
    if not config.dynamic:
        caption = (
            f"One {config.image_size}px tile: this model does not tile images (max tiles does not apply) → {tokens}"
        )
    else:
        thumb = " + 1 thumbnail" if plan.thumbnail else ""
        caption = (
            f"{plan.columns}×{plan.rows} grid of {config.image_size}px tiles{thumb} = {plan.tile_count} tiles "
            f"→ {tokens} (max tiles {max_tiles})"
        )
    return _png(shown), caption


def tile_count(data: bytes, max_tiles: int, config: ImageConfig | None = None) -> int:
    """Tiles the image takes under `config` (default: the answering model's, see `image_config`)."""
    return (config or image_config()).plan(*_size(data), max_tiles=max_tiles).tile_count


def show_tile_preview(image: ImageAttachment, max_tiles: int) -> None:
    png, caption = tile_preview(image.data, max_tiles, image_config())
    st.image(png, caption="How the model sees it: the tile grid")
    st.caption(caption)
