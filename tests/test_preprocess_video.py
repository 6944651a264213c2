"""Video sampling equals the seeds' get_index/load_video; every container loads; bad input is explained."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import seed_reference as seed
import torch
from media_factory import VIDEO_SUFFIXES, has_ffmpeg, make_video

from model_backend.preprocess import (
    SUPPORTED_VIDEO_EXTENSIONS,
    MediaError,
    frame_indices,
    load_video,
    probe_video,
    sample_frames,
)

needs_ffmpeg = pytest.mark.skipif(not has_ffmpeg(), reason="ffmpeg is needed to make test videos")


@pytest.fixture(scope="module")
def mp4(tmp_path_factory) -> str:
    return str(make_video(tmp_path_factory.mktemp("v") / "clip.mp4", seconds=3.0, fps=10, size=(160, 120)))


def test_frame_indices_equal_seed_get_index_for_many_cases() -> None:
    rng = np.random.default_rng(0)
    cases = [(8, 30.0, 299, None), (1, 25.0, 0, None), (64, 10.0, 20, None), (8, 29.97, 1000, (1.5, 7.25))]
    for _ in range(400):
        fps = float(rng.choice([5.0, 23.976, 24.0, 25.0, 29.97, 30.0, 60.0, 12.5]))
        max_frame = int(rng.integers(0, 3000))
        n = int(rng.integers(1, 65))
        duration = (max_frame + 1) / fps
        bound = None
        if rng.random() < 0.6:
            start = float(rng.uniform(0, duration))
            bound = (start, float(rng.uniform(start, duration * 1.2)))
        cases.append((n, fps, max_frame, bound))
    for n, fps, max_frame, bound in cases:
        expected = seed.get_index(bound, fps, max_frame, first_idx=0, num_segments=n).tolist()
        start, end = bound if bound else (None, None)
        assert frame_indices(n, fps, max_frame, start, end) == expected, (n, fps, max_frame, bound)


@needs_ffmpeg
@pytest.mark.parametrize(("frames", "bound", "tiles"), [(8, None, 1), (5, (0.5, 2.5), 1), (3, None, 4)])
def test_load_video_equals_seed_load_video(mp4: str, frames: int, bound, tiles: int) -> None:
    start, end = bound if bound else (None, None)
    pixels, counts = load_video(mp4, num_frames=frames, start_s=start, end_s=end, max_tiles_per_frame=tiles)
    ref_pixels, ref_counts = seed.load_video(mp4, bound=bound, max_num=tiles, num_segments=frames)
    assert counts == ref_counts
    assert torch.equal(pixels, ref_pixels)


@needs_ffmpeg
def test_bytes_source_gives_the_same_frames_as_a_path(mp4: str) -> None:
    data = Path(mp4).read_bytes()
    assert torch.equal(load_video(data, 4)[0], load_video(mp4, 4)[0])


@needs_ffmpeg
def test_probe_and_sampled_frames_carry_index_time_and_picture(mp4: str) -> None:
    info = probe_video(mp4)
    assert (info.frame_count, info.fps, info.width, info.height) == (30, 10.0, 160, 120)
    assert info.duration_s == pytest.approx(3.0)
    frames = sample_frames(mp4, 4)
    assert [f.index for f in frames] == frame_indices(4, 10.0, 29)
    assert frames[1].timestamp_s == pytest.approx(frames[1].index / 10.0)
    assert frames[0].image.size == (160, 120) and frames[0].image.mode == "RGB"


@needs_ffmpeg
def test_batch_read_equals_per_index_reads(mp4: str) -> None:
    from decord import VideoReader, cpu

    vr = VideoReader(mp4, ctx=cpu(0), num_threads=1)
    idx = [0, 7, 3, 29, 15]
    assert np.array_equal(vr.get_batch(idx).asnumpy(), np.stack([vr[i].asnumpy() for i in idx]))


@needs_ffmpeg
def test_every_supported_container_loads(tmp_path) -> None:
    assert set(VIDEO_SUFFIXES) == set(SUPPORTED_VIDEO_EXTENSIONS)
    for suffix in SUPPORTED_VIDEO_EXTENSIONS:
        path = make_video(tmp_path / f"c{suffix}", seconds=1.0, fps=8, size=(64, 48))
        pixels, counts = load_video(path, num_frames=4)
        assert pixels.shape == (4, 3, 448, 448) and counts == [1, 1, 1, 1], suffix


def test_empty_and_garbage_files_raise_media_error(tmp_path) -> None:
    empty = tmp_path / "empty.mp4"
    empty.write_bytes(b"")
    with pytest.raises(MediaError, match="empty"):
        load_video(empty)
    with pytest.raises(MediaError, match="empty"):
        load_video(b"")
    with pytest.raises(MediaError, match="not a video this app can read"):
        load_video(b"this is not a video" * 100)
    with pytest.raises(MediaError, match="does not exist"):
        probe_video(tmp_path / "missing.mp4")


@needs_ffmpeg
@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"start_s": 50, "end_s": 60}, r"starts at 50\.0 s, after the end of this 3\.0 s video"),
        ({"start_s": 2, "end_s": 1}, r"the end \(1\.0 s\) must come after the start \(2\.0 s\)"),
        ({"start_s": 1, "end_s": 1}, r"the end \(1\.0 s\) must come after the start \(1\.0 s\)"),
        ({"start_s": -1}, "cannot be negative"),
        ({"num_frames": 0}, "between 1 and 64"),
        ({"num_frames": 65}, "between 1 and 64"),
    ],
)
def test_bad_requests_raise_media_error(mp4: str, kwargs: dict, message: str) -> None:
    with pytest.raises(MediaError, match=message):
        load_video(mp4, **kwargs)


@needs_ffmpeg
def test_a_sound_only_mp4_says_it_has_no_picture(tmp_path) -> None:
    import subprocess

    path = tmp_path / "voice.mp4"
    cmd = ["ffmpeg", "-loglevel", "error", "-y", "-f", "lavfi", "-i", "sine=duration=1", "-c:a", "aac", str(path)]
    subprocess.run(cmd, check=True, capture_output=True, timeout=60)
    with pytest.raises(MediaError, match="no picture track") as raised:
        probe_video(path.read_bytes())
    assert raised.value.text.key == "media.video.no_picture"
    assert raised.value.detail  # decord's own words, for the "Details" fold


@needs_ffmpeg
@pytest.mark.filterwarnings("ignore")  # Streamlit's "no runtime" notes outside `streamlit run`
def test_the_pages_frame_strip_shows_the_engines_frames(mp4: str) -> None:
    """The Video QA strip decodes frame by frame from a kept reader: the same frames, the same pixels."""
    import io

    from components.video_input import THUMB_SIDE, OpenVideo

    data = Path(mp4).read_bytes()
    opened = OpenVideo(data)
    for request in [(8, None, None), (5, 0.5, 2.5), (3, 1.0, 1.3), (5, 0.5, 2.5)]:  # the last one from its cache
        expected = []
        for frame in sample_frames(data, *request):
            image = frame.image.copy()
            image.thumbnail((THUMB_SIDE, THUMB_SIDE))
            buffer = io.BytesIO()
            image.save(buffer, format="JPEG", quality=85)
            expected.append((frame.timestamp_s, buffer.getvalue()))
        assert list(opened.strip(*request)) == expected, request
    with pytest.raises(MediaError, match="must come after the start"):
        opened.indices(8, 2.0, 2.0)
