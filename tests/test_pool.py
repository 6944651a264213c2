"""ModelPool: several checkpoints resident, LRU eviction of idle ones, busy ones kept, one load per spec."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from model_backend.checkpoints import loading
from model_backend.checkpoints.loading import LoadError
from model_backend.demo_checkpoint import make_demo_checkpoint
from model_backend.serving.factory import EngineFactory
from model_backend.serving.pool import ModelPool, PoolFullError
from model_backend.settings import LoadSpec


@pytest.fixture(scope="module")
def specs(tmp_path_factory: pytest.TempPathFactory) -> list[LoadSpec]:
    root = tmp_path_factory.mktemp("pool")
    return [
        LoadSpec(str(make_demo_checkpoint(root / name)), dtype="float32", device="cpu", flash_attention=False)
        for name in ("base", "finetune", "third")
    ]


def test_two_checkpoints_stay_loaded_within_the_budget(specs) -> None:
    pool = ModelPool(budget_gb=100.0)
    first, second = pool.get(specs[0]), pool.get(specs[1])
    assert first is not second
    assert pool.peek(specs[0]) is first and pool.peek(specs[1]) is second
    assert {r.spec for r in pool.residents()} == {specs[0], specs[1]}
    assert all(r.memory_gb > 0 for r in pool.residents())


def test_the_least_recently_used_idle_model_goes_first(specs) -> None:
    # Each demo is estimated at ~1 GB before loading, so a 1.5 GB budget holds only one more.
    pool = ModelPool(budget_gb=1.5)
    pool.get(specs[0])
    pool.get(specs[1])
    assert pool.peek(specs[0]) is None, "the older idle model should have been evicted"
    assert pool.peek(specs[1]) is not None


def test_a_load_never_evicts_a_model_that_is_generating(specs) -> None:
    pool = ModelPool(budget_gb=1.5)
    with pool.lease(specs[0]) as busy:
        with pytest.raises(PoolFullError, match="answering right now"):
            pool.get(specs[1])
        assert pool.peek(specs[0]) is busy
        assert not pool.evict(specs[0])
    assert pool.evict(specs[0])
    assert pool.residents() == []


def test_a_failed_load_leaves_every_loaded_model_as_it_was(specs, tmp_path: Path) -> None:
    pool = ModelPool(budget_gb=0.5)  # tighter than any new load: a success would evict
    kept = pool.get(specs[0])
    for bad in ("OpenGVLab/No-Such-Modell", str(tmp_path), "/etc"):
        with pytest.raises(LoadError):
            pool.get(LoadSpec(bad))
        assert pool.peek(specs[0]) is kept


def test_concurrent_requests_for_one_spec_load_it_once(specs, monkeypatch) -> None:
    calls: list[LoadSpec] = []
    real = loading.load_prepared

    def counting(prepared, progress=None):
        calls.append(prepared.spec)
        return real(prepared, progress)

    monkeypatch.setattr(loading, "load_prepared", counting)
    pool = ModelPool(budget_gb=100.0)
    engines: list[object] = []
    messages: list[str] = []
    threads = [
        threading.Thread(target=lambda: engines.append(pool.get(specs[2], lambda m, f: messages.append(m))))
        for _ in range(3)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    assert calls == [specs[2]]
    assert len(engines) == 3 and engines[0] is engines[1] is engines[2]


def test_the_factory_serves_local_specs_from_its_pool(specs) -> None:
    factory = EngineFactory(ModelPool(budget_gb=100.0))
    with factory.lease(specs[0]) as engine:
        assert factory.pool.residents()[0].busy == 1
        assert factory.get(specs[0]) is engine
    assert factory.pool.residents()[0].busy == 0
