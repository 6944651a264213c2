"""parameter_count: exact parameter totals from safetensors headers, without loading weights."""

from __future__ import annotations

import torch
from safetensors.torch import load_file, save_file

from model_backend.checkpoints.catalog import estimate_memory_gb, find_entry
from model_backend.checkpoints.sizes import parameter_count
from model_backend.demo_checkpoint import make_demo_checkpoint


def test_count_equals_the_tensors_in_the_demo_checkpoint(tmp_path) -> None:
    folder = make_demo_checkpoint(tmp_path / "demo")
    tensors = load_file(folder / "model.safetensors")
    assert parameter_count(folder) == sum(t.numel() for t in tensors.values())


def test_sharded_checkpoints_add_up_across_files(tmp_path) -> None:
    save_file({"a": torch.zeros(3, 4), "b": torch.zeros(5)}, tmp_path / "model-00001-of-00002.safetensors")
    save_file({"c": torch.zeros(2, 2, 2, dtype=torch.bfloat16)}, tmp_path / "model-00002-of-00002.safetensors")
    assert parameter_count(tmp_path) == 12 + 5 + 8


def test_no_weights_or_a_damaged_header_gives_none(tmp_path) -> None:
    assert parameter_count(tmp_path) is None
    assert parameter_count(tmp_path / "missing") is None
    (tmp_path / "model.safetensors").write_bytes(b"\xff" * 8 + b"not json")
    assert parameter_count(tmp_path) is None


def test_folder_estimate_uses_the_catalog_formula() -> None:
    entry = find_entry("InternVL2-8B")
    assert estimate_memory_gb(entry.params_b, "8bit") == entry.memory_gb("8bit")
    assert estimate_memory_gb(1.0, "4bit") < estimate_memory_gb(1.0, "8bit") < estimate_memory_gb(1.0)
