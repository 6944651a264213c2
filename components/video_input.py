"""Video inputs: upload, frames, time range and tiles per frame, and the strip of sampled frames.

The strip is what the model will see: it takes the same frame indices the engine does
(`frame_indices`, segment midpoints), so the user can check the frames before asking.

Moving a slider must not cost a full decode per key press. So:
- a video is opened once per content (`_opened`, shared by sessions, bounded): its reader, its
  facts and every strip thumbnail made from it stay, and a rerun with the same settings (any
  other widget, a chat message) decodes nothing;
- the strip is decoded and drawn frame by frame. Each drawn frame is a point where Streamlit
  stops a run that a newer slider value has made stale, so a value the user has already moved
  past costs at most one frame, and only the settled value is sampled in full. (An `st.fragment`
  would not do this: a rerun asked by a widget of a fragment never interrupts the fragment run
  in progress, so every stale value would be sampled to its end.)
`benchmarks/bench_frame_strip.py` measures both against decoding each request.
"""

from __future__ import annotations

import hashlib
import io
import threading
from collections import OrderedDict
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import streamlit as st
from PIL import Image

from components import language
from components.language import t
from i18n import Text
from model_backend.conversation import Conversation, VideoAttachment
from model_backend.preprocess.errors import MediaError
from model_backend.preprocess.video import VideoInfo, check_request, frame_indices, open_reader, reader_info
from model_backend.settings import MAX_VIDEO_FRAMES

VIDEO_TYPES = ["mp4", "mov", "avi", "mkv", "webm"]
STRIP_COLUMNS = 8
THUMB_SIDE = 240
#: Strip thumbnails kept per open video (about 10 KB each): every strip of a session's slider moves.
THUMBS_PER_VIDEO = 512
_DIGEST_MEMO = "video_content_key"


class OpenVideo:
    """A video opened once: its decord reader, its facts, and the strip thumbnails made so far.

    Shared by every session that uploads the same bytes, so the reader (not thread-safe) is
    used under a lock; the thumbnails are JPEG bytes, read-only once made.
    """

    def __init__(self, data: bytes) -> None:
        # The preprocess module's own opening and checks, so the messages are the engine's.
        self._reader: Any = open_reader(data)
        self.info: VideoInfo = reader_info(self._reader)
        self._lock = threading.Lock()
        self._thumbs: OrderedDict[int, bytes] = OrderedDict()

    def indices(self, num_frames: int, start_s: float | None, end_s: float | None) -> list[int]:
        """The frames the engine samples for these settings; raises `MediaError` for a bad request."""
        check_request(self.info, num_frames, start_s, end_s)
        return frame_indices(num_frames, self.info.fps, self.info.frame_count - 1, start_s, end_s)

    def timestamp(self, index: int) -> float:
        return index / self.info.fps

    def cached(self, index: int) -> bool:
        return index in self._thumbs

    def thumbnail(self, index: int) -> bytes:
        """A JPEG of frame `index`, decoded on first use only."""
        with self._lock:
            jpeg = self._thumbs.get(index)
            if jpeg is not None:
                self._thumbs.move_to_end(index)
                return jpeg
            try:
                # One index per call reads the same pixels as the engine's batched read (tested in preprocess).
                frame = self._reader.get_batch([index]).asnumpy()[0]
            except Exception as exc:  # decord's C++ errors: a damaged stream
                raise MediaError("media.video.damaged", detail=str(exc).strip()) from exc
            jpeg = _jpeg(Image.fromarray(frame))
            self._thumbs[index] = jpeg
            if len(self._thumbs) > THUMBS_PER_VIDEO:
                self._thumbs.popitem(last=False)
            return jpeg

    def strip(self, num_frames: int, start_s: float | None, end_s: float | None) -> Iterator[tuple[float, bytes]]:
        """(timestamp, JPEG) of each frame the model will see, one at a time."""
        for index in self.indices(num_frames, start_s, end_s):
            yield self.timestamp(index), self.thumbnail(index)


def _jpeg(image: Image.Image) -> bytes:
    image.thumbnail((THUMB_SIDE, THUMB_SIDE))
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG", quality=85)
    return buffer.getvalue()


def digest(data: bytes) -> str:
    """What identifies a video's content (about 1.5 ms a megabyte), the key of its open copy."""
    return hashlib.sha1(data, usedforsecurity=False).hexdigest()


def _content_key(data: bytes) -> str:
    """`digest(data)`, worked out once per video of this session rather than on every rerun.

    Each rerun gets the very same bytes object (the uploader keeps the upload, the conversation
    its video), and Python keeps a bytes object's `hash` once computed, so the memo is found at
    no cost; 200 MB would otherwise take 0.3 s of hashing per slider press. The memo is this
    session's and holds no bytes (a removed upload is freed).
    """
    memo: dict[tuple[int, int], str] = st.session_state.setdefault(_DIGEST_MEMO, {})
    found = (hash(data), len(data))
    if found not in memo:
        if len(memo) >= 4:
            memo.pop(next(iter(memo)))  # the oldest: a session works on one video at a time
        memo[found] = digest(data)
    return memo[found]


@st.cache_resource(show_spinner=False, max_entries=4, ttl=1800)
def _opened(key: str, _data: bytes) -> OpenVideo | MediaError:
    """The open video for content `key`, or why it cannot be opened (kept too: no retry each rerun)."""
    try:
        return OpenVideo(_data)
    except MediaError as error:
        return error


def open_video(data: bytes) -> OpenVideo:
    """The shared open copy of `data`; raises `MediaError` when it is not a usable video."""
    opened = _opened(_content_key(data), data)
    if isinstance(opened, MediaError):
        raise opened.with_traceback(None)  # the cached error, without the last raise's frames
    return opened


@dataclass(frozen=True)
class PickedVideo:
    """What the video inputs give the next question: the video, or (`video` None) why it cannot be asked."""

    video: VideoAttachment | None = None
    #: What Ask says instead of asking; None when the video and its frames can be used.
    blocker: Text | None = None


def _seconds(value: float) -> str:
    return t("video.seconds", seconds=f"{value:.1f}")


def video_picker(page: str) -> PickedVideo:
    """Upload, sampling controls and the frame strip; a `blocker` (with the problem shown) when unusable."""
    uploaded = st.file_uploader(t("video.upload"), type=VIDEO_TYPES, key=f"video_{page}")
    if uploaded is None:
        return PickedVideo(blocker=Text("video.ask_no_video"))
    data = uploaded.getvalue()
    try:
        info = open_video(data).info
    except MediaError as error:
        language.error(error, prefix=uploaded.name)
        return PickedVideo(blocker=Text("video.ask_unusable"))
    st.caption(
        t(
            "video.facts",
            name=uploaded.name,
            duration=f"{info.duration_s:.1f}",
            width=info.width,
            height=info.height,
            fps=f"{info.fps:.1f}",
        )
    )
    frames_col, tiles_col = st.columns(2)
    num_frames = frames_col.slider(t("video.frames"), 1, MAX_VIDEO_FRAMES, 8, key=f"frames_{page}")
    tiles = tiles_col.number_input(
        t("video.tiles"), 1, 12, 1, key=f"tiles_{page}", help=t("video.tiles_help", size=448)
    )
    longest = round(info.duration_s, 1)
    start, end = 0.0, longest
    if longest > 0:  # a slider needs two different ends: a clip shorter than 0.05 s is taken whole
        start, end = st.slider(t("video.range"), 0.0, longest, (0.0, longest), step=0.1, key=f"range_{page}")
    if longest > 0 and end <= start:
        # Said here, in the user's terms, before VideoAttachment would refuse it in a developer's.
        st.error(t("media.video.empty_range", start=_seconds(start), end=_seconds(end)))
        return PickedVideo(blocker=Text("video.ask_empty_range"))
    whole = start <= 0.0 and end >= longest
    video = VideoAttachment(
        data=data,
        name=uploaded.name,
        num_frames=num_frames,
        start_s=None if whole else start,
        end_s=None if whole else end,
        tiles_per_frame=int(tiles),
    )
    if not show_strip(video):
        return PickedVideo(blocker=Text("video.ask_unusable"))
    return PickedVideo(video)


def show_strip(video: VideoAttachment) -> bool:
    """The sampled frames with their timestamps; False (with the problem shown) if they cannot be decoded."""
    try:
        opened = open_video(video.data)
        indices = opened.indices(video.num_frames, video.start_s, video.end_s)
    except MediaError as error:
        language.error(error, prefix=video.name)
        return False
    st.markdown(t("video.strip_title", count=len(indices)))
    progress = st.empty()  # drawn on every run, so the frames below keep their places
    columns: list[Any] = []
    try:
        for position, index in enumerate(indices):
            if position % STRIP_COLUMNS == 0:
                columns = st.columns(STRIP_COLUMNS)
            if not opened.cached(index):
                progress.caption(t("video.sampling", done=position, count=len(indices)))
            jpeg = opened.thumbnail(index)
            # Drawing the frame is where a newer slider value stops this run (see the module's docstring).
            caption = t("video.frame_caption", number=position + 1, seconds=_seconds(opened.timestamp(index)))
            columns[position % STRIP_COLUMNS].image(jpeg, caption=caption)
    except MediaError as error:
        progress.empty()
        language.error(error, prefix=video.name)
        return False
    progress.empty()
    return True


def attached_video(conversation: Conversation) -> VideoAttachment | None:
    """The conversation's video: it rides on the first turn, follow-ups refer to the same frames."""
    return conversation.turns[0].video if conversation.turns else None


def video_to_attach(conversation: Conversation, picked: VideoAttachment | None) -> VideoAttachment | None:
    if any(turn.answered for turn in conversation.turns):
        return None
    return picked
