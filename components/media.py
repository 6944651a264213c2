"""Image inputs and previews: upload or example gallery, thumbnails, and the tile-grid preview.

Decoding goes through `model_backend.preprocess` (which raises `MediaError`: a table key for
the user, the library's words as detail), once per upload: the check, the thumbnail, the tile
preview and the grounding boxes all start from `decoded(data)`. What is kept per session is
bytes, never PIL objects. Every word shown is in the visitor's language (`components.language`).
"""

from __future__ import annotations

import io
import json
from dataclasses import dataclass
from pathlib import Path

import streamlit as st
from PIL import Image, ImageDraw

from components import language
from components.language import t
from components.safe_markdown import plain_label
from i18n import DEFAULT_LANGUAGE, Text, text
from model_backend.checkpoints.image_config import DEFAULT_IMAGE_CONFIG, ImageConfig
from model_backend.conversation import ImageAttachment, Turn
from model_backend.preprocess.errors import MediaError
from model_backend.preprocess.tiling import TilePlan

IMAGE_TYPES = ["png", "jpg", "jpeg", "webp", "bmp", "gif", "tiff", "tif"]
EXAMPLES_DIR = Path(__file__).resolve().parent.parent / "assets" / "examples"
PREVIEW_SIDE = 640


@dataclass(frozen=True)
class Example:
    path: Path
    title: str
    prompt: str


#: The gallery's titles and suggested questions in every language, by file (examples.json has the English;
#: an example missing here shows its English words).
_EXAMPLE_WORDS: dict[str, tuple[Text, Text]] = {
    "bar_chart.png": (Text("image_input.example.bar_chart"), Text("image_input.example.bar_chart_prompt")),
    "street_sign.png": (Text("image_input.example.street_sign"), Text("image_input.example.street_sign_prompt")),
    "shapes.png": (Text("image_input.example.shapes"), Text("image_input.example.shapes_prompt")),
    "receipt.png": (Text("image_input.example.receipt"), Text("image_input.example.receipt_prompt")),
    "objects.png": (Text("image_input.example.objects"), Text("image_input.example.objects_prompt")),
}


def examples(lang: str = DEFAULT_LANGUAGE) -> list[Example]:
    """The example gallery, its titles and suggested questions in `lang`."""
    index = json.loads((EXAMPLES_DIR / "examples.json").read_text())
    gallery = []
    for entry in index:
        title, prompt = entry["title"], entry["prompt"]
        if entry["file"] in _EXAMPLE_WORDS:
            title, prompt = (words.render(lang) for words in _EXAMPLE_WORDS[entry["file"]])
        gallery.append(Example(EXAMPLES_DIR / entry["file"], title, prompt))
    return gallery


def check_image(data: bytes, name: str = "") -> MediaError | None:
    """The problem with an image file (show it with `language.error(problem, prefix=name)`), or None.

    `name` is not part of the message: callers put it in front, so every message reads the same
    way ("photo.png: This image is damaged…"); the parameter stays for the callers that pass it.
    """
    try:
        _size(data)
    except MediaError as error:
        return error
    return None


@st.cache_resource(show_spinner=False, max_entries=8)  # the multi-image page's 6 images, and some
def _decode(data: bytes) -> Image.Image | Exception:
    """The upload decoded (RGB), or its `MediaError`; shared read-only, so never modify it."""
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
    return png_bytes(image)


def png_bytes(image: Image.Image) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


def show_attachments(turn: Turn) -> None:
    """Thumbnails of a turn's images (labelled Image-k when there are several) or its video settings."""
    if turn.images:
        labelled = len(turn.images) > 1
        columns = st.columns(min(len(turn.images), 6))
        for number, image in enumerate(turn.images, start=1):
            # "Image-k" is the label the question carries to the model: the same in every language.
            caption = f"Image-{number}: {plain_label(image.name)}" if labelled else plain_label(image.name)
            with columns[(number - 1) % len(columns)]:
                _thumbnail(image, caption)
    if turn.video is not None:
        video = turn.video
        if video.start_s is None and video.end_s is None:
            st.caption(
                ":material/movie: "
                + t(
                    "image_input.video_whole",
                    name=plain_label(video.name),
                    frames=video.num_frames,
                    tiles=video.tiles_per_frame,
                )
            )
        else:
            start = f"{video.start_s or 0:.1f}"
            end = (
                t("image_input.video_to_end")
                if video.end_s is None
                else t("video.seconds", seconds=f"{video.end_s:.1f}")
            )
            st.caption(
                ":material/movie: "
                + t(
                    "image_input.video_part",
                    name=plain_label(video.name),
                    frames=video.num_frames,
                    start=t("video.seconds", seconds=start),
                    end=end,
                    tiles=video.tiles_per_frame,
                )
            )


def _thumbnail(image: ImageAttachment, caption: str) -> None:
    problem = check_image(image.data, image.name)
    if problem:
        st.caption(f":material/warning: {plain_label(image.name)}: {language.render(problem.text)}")
    else:
        st.image(thumbnail_png(image.data), caption=caption, width=160)


def image_picker(page: str) -> tuple[ImageAttachment | None, str | None]:
    """Upload, example gallery or no image. Returns the image and, for an example, its suggested prompt."""
    sources = {
        "Upload": t("image_input.source_upload"),
        "Example": t("image_input.source_example"),
        "No image": t("image_input.source_none"),
    }
    source = st.segmented_control(
        t("image_input.source"),
        list(sources),  # the values stay English: the page and the tests compare them
        format_func=sources.__getitem__,
        default="Upload",
        key=f"source_{page}",
        required=True,
    )
    if source == "Upload":
        uploaded = st.file_uploader(t("image_input.upload"), type=IMAGE_TYPES, key=f"upload_{page}")
        if uploaded is None:
            return None, None
        image = ImageAttachment(uploaded.getvalue(), uploaded.name)
        problem = check_image(image.data, image.name)
        if problem:
            language.error(problem, prefix=image.name)
            return None, None
        return image, None
    if source == "Example":
        from streamlit_image_select import image_select

        gallery = examples(language.current())
        chosen = image_select(
            t("image_input.pick_example"),
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
def tile_preview(
    data: bytes, max_tiles: int, config: ImageConfig = DEFAULT_IMAGE_CONFIG, lang: str = DEFAULT_LANGUAGE
) -> tuple[bytes, str]:
    """A PNG of the image resized to its tile grid with the grid drawn on it, and a caption of the cost (in `lang`)."""
    image = decoded(data)
    plan = config.plan(*image.size, max_tiles=max_tiles)
    width, height = plan.resized_size
    scale = min(1.0, PREVIEW_SIDE / max(width, height))
    shown = image.resize((max(1, round(width * scale)), max(1, round(height * scale))))
    draw = ImageDraw.Draw(shown)
    for left, top, right, bottom in plan.boxes:
        box = [round(left * scale), round(top * scale), round(right * scale) - 1, round(bottom * scale) - 1]
        draw.rectangle(box, outline="#ff2b2b", width=2)
    tokens = f"{config.visual_tokens(plan.tile_count):,}"
    if not config.dynamic:
        caption = text(lang, "image_input.tiles_fixed", size=config.image_size, tokens=tokens)
    else:
        grid = dict(columns=plan.columns, rows=plan.rows, size=config.image_size, tiles=plan.tile_count)
        if plan.thumbnail:
            caption = text(lang, "image_input.tiles_grid_thumbnail", **grid, tokens=tokens, max_tiles=max_tiles)
        else:
            caption = text(lang, "image_input.tiles_grid", **grid, tokens=tokens, max_tiles=max_tiles)
    return png_bytes(shown), caption


def tile_plan(data: bytes, max_tiles: int, config: ImageConfig | None = None) -> TilePlan:
    """How the image is tiled under `config` (default: the answering model's, see `image_config`)."""
    return (config or image_config()).plan(*_size(data), max_tiles=max_tiles)


def show_tile_preview(image: ImageAttachment, max_tiles: int) -> None:
    config = image_config()
    png, caption = tile_preview(image.data, max_tiles, config, language.current())
    st.image(png, caption=t("image_input.tile_grid"))
    st.caption(caption)
    seconds = _expected_vision_seconds(tile_plan(image.data, max_tiles, config).tile_count)
    if seconds is not None:
        st.caption(t("image_input.encoder_estimate", seconds=f"{seconds:.1f}"))


def _expected_vision_seconds(tiles: int) -> float | None:
    """On a CPU, the vision encoder's expected time for `tiles`, at the rate measured on this machine."""
    from components import model_cache, state

    if state.backend() == "server":
        return None
    expected = getattr(model_cache.resident_engine(state.load_spec()), "expected_vision_seconds", None)
    return expected(tiles) if expected is not None else None
