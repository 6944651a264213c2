"""Find a hub checkpoint locally or download it, failing within seconds when the hub is out of reach.

The hub client retries for a long time before giving up; a browser user should instead hear at
once that the network is missing. So: the local Hugging Face cache first (`local_files_only`),
then one short probe of the hub (3 s), and only then the real download with a progress hook.
"""

from __future__ import annotations

import os
from collections.abc import Callable

from i18n import Text
from model_backend.errors import BackendError

PROBE_TIMEOUT_S = 3.0

#: `progress(message, fraction or None)`: the message is a `Text` (the pages word it in the visitor's language).
Progress = Callable[["Text | str", "float | None"], None]


class HubUnavailable(BackendError, RuntimeError):
    """The hub could not be reached or has no such repository; `text` says which, in plain words."""


def unreachable_message(repo_id: str) -> Text:
    return Text("load.hub_unreachable", {"repo": repo_id})


def cached_snapshot(repo_id: str) -> str | None:
    """The folder of a complete cached snapshot of `repo_id`, or None. Never touches the network."""
    from huggingface_hub import snapshot_download

    try:
        path = snapshot_download(repo_id, local_files_only=True)
    except Exception:  # not cached (LocalEntryNotFoundError) or a broken cache entry
        return None
    return path if os.path.isfile(os.path.join(path, "config.json")) else None


def probe(repo_id: str, timeout: float = PROBE_TIMEOUT_S) -> None:
    """Raise HubUnavailable unless the hub answers for `repo_id` within `timeout` seconds."""
    from huggingface_hub import HfApi
    from huggingface_hub.errors import GatedRepoError, RepositoryNotFoundError

    if os.environ.get("HF_HUB_OFFLINE", "").strip().lower() in {"1", "true", "yes", "on"}:
        raise HubUnavailable(Text("load.hub_offline", {"repo": repo_id}))
    try:
        HfApi().model_info(repo_id, timeout=timeout)
    except GatedRepoError as error:
        raise HubUnavailable(Text("load.hub_gated", {"repo": repo_id}), detail=str(error)) from error
    except RepositoryNotFoundError as error:
        raise HubUnavailable(Text("load.hub_not_found", {"repo": repo_id}), detail=str(error)) from error
    except Exception as error:  # connection refused, DNS failure, timeout, proxy errors
        raise HubUnavailable(unreachable_message(repo_id), detail=f"{type(error).__name__}: {error}") from error


def download(repo_id: str, progress: Progress | None = None) -> str:
    """A local folder with `repo_id`'s files: cached, else probed and downloaded with progress."""
    cached = cached_snapshot(repo_id)
    if cached is not None:
        return cached
    probe(repo_id)
    from huggingface_hub import snapshot_download

    try:
        return snapshot_download(repo_id, tqdm_class=_progress_tqdm(repo_id, progress))
    except Exception as error:
        technical = f"{type(error).__name__}: {error}"
        raise HubUnavailable(Text("load.hub_download_failed", {"repo": repo_id}), detail=technical) from error


def _progress_tqdm(repo_id: str, progress: Progress | None):
    """A tqdm class that forwards snapshot_download's files-done bar to `progress`."""
    from tqdm.auto import tqdm

    class ProgressTqdm(tqdm):
        def __init__(self, *args, **kwargs):
            kwargs["disable"] = progress is None
            super().__init__(*args, **kwargs)
            if progress is not None:
                progress(Text("load.progress.download", {"repo": repo_id}), 0.0)

        def update(self, n=1):
            result = super().update(n)
            if progress is not None and self.total:
                progress(Text("load.progress.download", {"repo": repo_id}), min(1.0, self.n / self.total))
            return result

    return ProgressTqdm
