"""Encode while the user types: one background job per conversation, for the media just attached.

A page calls `AheadRegistry.start` on every run while media waits to be sent with the next
question. The first call for a given attachment starts a thread that asks the conversation's
local engine to do ahead what the answer will need first (`LocalEngine.encode_ahead`: tiles,
vision features, the prompt prefilled up to the question); later calls with the same
attachment and settings do nothing, and a different attachment cancels the job before it. Jobs
start only for a model that is already loaded (one evicted in the moment between that check and
the lease would be loaded again by the lease), hold a pool lease while they
work (so the model is not evicted under them), and give way to answers being generated. They
run one at a time in the process: a user moving a video's range slider starts a job per value,
and each must not decode and encode alongside the others; a job replaced before its turn never
starts.

Errors are not reported here: the answer that follows meets the same problem and says it.
"""

from __future__ import annotations

import hashlib
import logging
import threading
from collections import OrderedDict
from dataclasses import dataclass, field

from model_backend.conversation import Conversation, ImageAttachment, Turn, VideoAttachment
from model_backend.serving.factory import EngineFactory, Target
from model_backend.settings import GenerationSettings, LoadSpec

_log = logging.getLogger(__name__)
#: Conversations whose last job is remembered (to tell a repeated call from a new attachment).
MAX_REMEMBERED = 256


@dataclass
class AheadJob:
    fingerprint: tuple
    cancel: threading.Event = field(default_factory=threading.Event)
    done: threading.Event = field(default_factory=threading.Event)
    #: True when the engine did the work (False: cancelled, nothing to do, not a local model, or failed).
    worked: bool = False


class AheadRegistry:
    """The jobs done ahead, keyed by conversation id; thread-safe, one per server process."""

    def __init__(self, factory: EngineFactory) -> None:
        self._factory = factory
        self._jobs: OrderedDict[str, AheadJob] = OrderedDict()
        self._lock = threading.Lock()
        self._one_at_a_time = threading.Lock()

    def start(
        self,
        key: str,
        target: Target,
        conversation: Conversation,
        settings: GenerationSettings,
        images: tuple[ImageAttachment, ...] = (),
        video: VideoAttachment | None = None,
    ) -> AheadJob | None:
        """Prepare the next question of `conversation` with these media attached (None: nothing to do)."""
        if not images and video is None:
            return None
        if isinstance(target, LoadSpec) and self._factory.pool.peek(target) is None:
            return None  # never load a model for this: the sidebar's load comes first
        snapshot = Conversation([turn for turn in conversation.turns if turn.answered])
        snapshot.turns.append(Turn(question="", images=images, video=video))  # the question is still being typed
        fingerprint = (target, settings, _digest(snapshot))
        with self._lock:
            current = self._jobs.get(key)
            if current is not None and current.fingerprint == fingerprint:
                return current
            if current is not None:
                current.cancel.set()
            job = AheadJob(fingerprint)
            self._jobs[key] = job
            self._jobs.move_to_end(key)
            while len(self._jobs) > MAX_REMEMBERED:
                self._jobs.popitem(last=False)[1].cancel.set()
        thread = threading.Thread(
            target=self._work, args=(job, target, snapshot, settings), name="encode-ahead", daemon=True
        )
        thread.start()
        return job

    def cancel(self, key: str) -> None:
        with self._lock:
            job = self._jobs.pop(key, None)
        if job is not None:
            job.cancel.set()

    def _work(self, job: AheadJob, target: Target, snapshot: Conversation, settings: GenerationSettings) -> None:
        try:
            with self._one_at_a_time:
                if not job.cancel.is_set():
                    self._run(job, target, snapshot, settings)
        finally:
            job.done.set()

    def _run(self, job: AheadJob, target: Target, snapshot: Conversation, settings: GenerationSettings) -> None:
        try:
            with self._factory.lease(target) as engine:
                # A server encodes on its own side.
                if engine.capabilities.encodes_ahead and not job.cancel.is_set():
                    job.worked = bool(engine.encode_ahead(snapshot, settings, job.cancel))
        except Exception:  # the answer meets the same problem and reports it
            _log.debug("work ahead failed", exc_info=True)


def _digest(conversation: Conversation) -> str:
    """What decides the prepared prompt: every turn's words and media (hashed, not kept)."""
    digest = hashlib.sha256()
    for turn in conversation.turns:
        digest.update(repr((turn.question, turn.answer)).encode())
        for image in turn.images:
            digest.update(hashlib.sha256(image.data).digest())
        if turn.video is not None:
            video = turn.video
            digest.update(hashlib.sha256(video.data).digest())
            digest.update(repr((video.num_frames, video.start_s, video.end_s, video.tiles_per_frame)).encode())
    return digest.hexdigest()
