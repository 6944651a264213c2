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
