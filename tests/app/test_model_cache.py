"""ModelSlot: one model at a time; switching checkpoints releases the old one before loading the new."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from components.model_cache import ModelSlot
from model_backend.settings import LoadSpec


@pytest.fixture
def fake_loading(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    events: list[str] = []
    import model_backend.engines.local as local
    import model_backend.loading as loading

    def load_model(spec: LoadSpec, progress=None) -> SimpleNamespace:
        events.append(f"load {spec.checkpoint}")
        if progress:
            progress("loading", 0.5)
        return SimpleNamespace(checkpoint=spec.checkpoint)

    monkeypatch.setattr(loading, "load_model", load_model)
    monkeypatch.setattr(loading, "release_model", lambda loaded: events.append(f"release {loaded.checkpoint}"))
    monkeypatch.setattr(local, "LocalEngine", lambda loaded: SimpleNamespace(loaded=loaded))
    return events


def test_same_spec_loads_once(fake_loading: list[str]) -> None:
    slot = ModelSlot()
    first = slot.get(LoadSpec("a"))
    assert slot.get(LoadSpec("a")) is first
    assert fake_loading == ["load a"]


def test_switching_releases_the_previous_model_first(fake_loading: list[str]) -> None:
    slot = ModelSlot()
    slot.get(LoadSpec("a"))
    slot.get(LoadSpec("b"))
    assert fake_loading == ["load a", "release a", "load b"]
    assert slot.peek(LoadSpec("a")) is None and slot.peek(LoadSpec("b")) is not None


def test_failed_load_leaves_the_slot_empty(fake_loading: list[str], monkeypatch: pytest.MonkeyPatch) -> None:
    import model_backend.loading as loading

    slot = ModelSlot()
    slot.get(LoadSpec("a"))

    def broken(spec: LoadSpec, progress=None) -> None:
        raise loading.LoadError("no such checkpoint")

    monkeypatch.setattr(loading, "load_model", broken)
    with pytest.raises(loading.LoadError):
        slot.get(LoadSpec("b"))
    assert fake_loading == ["load a", "release a"]
    assert slot.peek(LoadSpec("a")) is None


def test_release_on_cache_clear(fake_loading: list[str]) -> None:
    slot = ModelSlot()
    slot.get(LoadSpec("a"))
    slot.release()  # what st.cache_resource's on_release calls when the cache is cleared
    assert fake_loading[-1] == "release a"


def test_release_leaves_no_reference_to_the_old_weights(tmp_path, monkeypatch: pytest.MonkeyPatch) -> None:
    """When release_model empties the CUDA cache, nothing may still hold the old model."""
    import weakref

    import model_backend.loading as loading
    from model_backend.demo_checkpoint import make_demo_checkpoint

    first, second = make_demo_checkpoint(tmp_path / "a"), make_demo_checkpoint(tmp_path / "b")
    slot = ModelSlot()
    slot.get(LoadSpec(str(first), dtype="float32"))
    old_model = weakref.ref(slot.engine.model)
    real_release = loading.release_model
    alive_after_release: list[bool] = []

    def release_model(loaded) -> None:
        real_release(loaded)  # collects garbage, then empties the CUDA cache
        alive_after_release.append(old_model() is not None)

    monkeypatch.setattr(loading, "release_model", release_model)
    slot.get(LoadSpec(str(second), dtype="float32"))
    assert alive_after_release == [False]
