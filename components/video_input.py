"""Video inputs: upload, frames, time range and tiles per frame, and the strip of sampled frames.

The strip is what the model will see: `sample_frames` picks the same frame indices the engine
does (segment midpoints), so the user can check the frames before asking.
"""

from __future__ import annotations

import io

import streamlit as st

from model_backend.conversation import Conversation, VideoAttachment
from model_backend.settings import MAX_VIDEO_FRAMES

VIDEO_TYPES = ["mp4", "mov", "avi", "mkv", "webm"]
STRIP_COLUMNS = 8


@st.cache_data(show_spinner=False, max_entries=8)
def _probe(data: bytes) -> tuple[float, int, int, float]:
    from model_backend.preprocess.video import probe_video

    info = probe_video(data)
    return info.duration_s, info.width, info.height, info.fps


@st.cache_data(show_spinner="Sampling frames…", max_entries=16)
def _frames(data: bytes, num_frames: int, start_s: float | None, end_s: float | None) -> list[tuple[float, bytes]]:
    from model_backend.preprocess.video import sample_frames

    strip = []
    for frame in sample_frames(data, num_frames, start_s, end_s):
        image = frame.image.copy()
        image.thumbnail((240, 240))
        buffer = io.BytesIO()
        image.save(buffer, format="JPEG", quality=85)
        strip.append((frame.timestamp_s, buffer.getvalue()))
    return strip


def video_picker(page: str) -> VideoAttachment | None:
    """Upload and sampling controls; None (with an error shown) when the video cannot be used."""
    from model_backend.preprocess.errors import MediaError

    uploaded = st.file_uploader("Upload a video", type=VIDEO_TYPES, key=f"video_{page}")
    if uploaded is None:
        return None
    data = uploaded.getvalue()
    try:
        duration, width, height, fps = _probe(data)
    except MediaError as error:
        st.error(f"{uploaded.name}: {error}")
        return None
    st.caption(f"{uploaded.name}: {duration:.1f} s, {width}×{height}, {fps:.1f} fps")
    frames_col, tiles_col = st.columns(2)
    num_frames = frames_col.slider("Frames", 1, MAX_VIDEO_FRAMES, 8, key=f"frames_{page}")
    tiles = tiles_col.number_input("Tiles per frame", 1, 12, 1, key=f"tiles_{page}", help="1 = one 448px tile")
    start, end = st.slider(
        "Time range (s)", 0.0, round(duration, 1), (0.0, round(duration, 1)), step=0.1, key=f"range_{page}"
    )
    whole = start <= 0.0 and end >= round(duration, 1)
    try:
        return VideoAttachment(
            data=data,
            name=uploaded.name,
            num_frames=num_frames,
            start_s=None if whole else start,
            end_s=None if whole else end,
            tiles_per_frame=int(tiles),
        )
    except ValueError as error:  # ConversationError: an empty range
        st.error(str(error))
        return None


def show_strip(video: VideoAttachment) -> bool:
    """The sampled frames with their timestamps; False (with an error shown) if they cannot be decoded."""
    from model_backend.preprocess.errors import MediaError

    try:
        strip = _frames(video.data, video.num_frames, video.start_s, video.end_s)
    except MediaError as error:
        st.error(f"{video.name}: {error}")
        return False
    st.markdown(f"**The {len(strip)} frames the model will see**")
    for row in range(0, len(strip), STRIP_COLUMNS):
        columns = st.columns(STRIP_COLUMNS)
        for offset, (timestamp, jpeg) in enumerate(strip[row : row + STRIP_COLUMNS]):
            columns[offset].image(jpeg, caption=f"Frame{row + offset + 1} · {timestamp:.1f}s")
    return True


def attached_video(conversation: Conversation) -> VideoAttachment | None:
    """The conversation's video: it rides on the first turn, follow-ups refer to the same frames."""
    return conversation.turns[0].video if conversation.turns else None


def video_to_attach(conversation: Conversation, picked: VideoAttachment | None) -> VideoAttachment | None:
    if any(turn.answered for turn in conversation.turns):
        return None
    return picked
