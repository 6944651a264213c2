"""Follow-up turns with and without the engine's caches, side by side in one run, at real size.

Builds InternVL2-1B's real architecture (InternViT-300M: 24 layers x 1024; Qwen2-0.5B: 24 layers
x 896, 14 heads, 2 KV heads, vocabulary 151,655) with random weights from those config sizes, no
download, in the demo checkpoint's on-disk layout (its code files and tokenizer), and loads it
through `load_model` like any checkpoint. Then one conversation about one photo: three turns and a
regenerate of the third, answered by two engines sharing that model:

- no cache: `LocalEngine(vision_cache_mb=0, prefix_cache_mb=0)`, which costs what `model.chat`
  costs (every turn encodes the images again and prefills the whole history);
- cache: `LocalEngine()` with its vision-feature cache and its KV prefix cache (a follow-up
  prefills only what follows the kept prompt and answer).

Turns are interleaved (which engine goes first alternates), every answer is checked equal between
the two (greedy, a fixed number of new tokens), and the script prints the time-to-first-token
ratios (cache / no cache) and each answer's stages. Then turn 1 about new photos a few times
(the caches cannot help there: the ratio must stay near 1), and encode-while-typing: a question
sent after `encode_ahead` finished against one sent right after the attach. `--check-batching` also tells whether
encoding two images one by one gives the same features as one batch (it must, for a kept image's
features to be exact next to a fresh one's) in the chosen dtype.

Run:  .venv/bin/python benchmarks/bench_turns.py                      # max tiles 6: 3 tiles
      .venv/bin/python benchmarks/bench_turns.py --max-tiles 1        # ~5 min on 2 CPU cores
      .venv/bin/python benchmarks/bench_turns.py --device cuda --dtype bfloat16 --check-batching
      .venv/bin/python benchmarks/bench_turns.py --dtype bfloat16 --max-tiles 1 --batching-only
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

from media_factory import make_photo  # noqa: E402

from model_backend.checkpoints.loading import load_model  # noqa: E402
from model_backend.conversation import Conversation, ImageAttachment, Turn  # noqa: E402
from model_backend.demo_checkpoint import make_demo_checkpoint  # noqa: E402
from model_backend.engines.local import LocalEngine  # noqa: E402
from model_backend.settings import GenerationSettings, LoadSpec  # noqa: E402

#: InternVL2-1B's sizes (its config.json): InternViT-300M-448px + Qwen2-0.5B-Instruct.
VISION_SIZES = {"hidden_size": 1024, "intermediate_size": 4096, "num_attention_heads": 16, "num_hidden_layers": 24}
LLM_SIZES = {
    "hidden_size": 896,
    "intermediate_size": 4864,
    "num_hidden_layers": 24,
    "num_attention_heads": 14,
    "num_key_value_heads": 2,
    "vocab_size": 151655,
}
QUESTIONS = ("Describe this photo.", "What colours stand out?", "Is there anything unusual in it?")
STAGES = ("preprocess_s", "vision_encoder_s", "prefill_s", "decode_s")


class FixedLength(GenerationSettings):
    """Greedy answers of exactly max_new_tokens tokens, so both engines decode the same amount."""

    def generation_config(self) -> dict:
        return {**super().generation_config(), "min_new_tokens": self.max_new_tokens}


def build_checkpoint(folder: Path) -> Path:
    """InternVL2-1B's architecture with random weights, in the demo checkpoint's layout."""
    from safetensors.torch import save_file
    from transformers import AutoConfig, AutoModel

    make_demo_checkpoint(folder)  # code files, tokenizer, config to resize
    config_path = folder / "config.json"
    config = json.loads(config_path.read_text())
    config["vision_config"].update(VISION_SIZES)
    config["llm_config"].update(LLM_SIZES)
    config_path.write_text(json.dumps(config, indent=2))
    (folder / "model.safetensors").unlink()

    model_config = AutoConfig.from_pretrained(folder, trust_remote_code=True)
    generator = torch.Generator().manual_seed(0)
    model = AutoModel.from_config(model_config, trust_remote_code=True, torch_dtype=torch.float32)
    with torch.no_grad():
        for name, param in model.named_parameters():
            if name.endswith("bias"):
                param.zero_()
            elif param.ndim == 1:
                param.fill_(1.0)
            else:
                param.normal_(0.0, param[0].numel() ** -0.5, generator=generator)
    state = {name: tensor.to(torch.bfloat16).contiguous() for name, tensor in model.state_dict().items()}
    save_file(state, str(folder / "model.safetensors"), metadata={"format": "pt"})
    return folder


def ttft(engine: LocalEngine, conversation: Conversation, settings: GenerationSettings):
    answer = engine.stream(conversation, settings, threading.Event())
    text = answer.text()
    return text, answer.stats


def check_batching(loaded, photo: bytes, max_tiles: int) -> str:
    """Two images encoded one by one vs in one batch: equal, or the largest difference."""
    second = make_photo(700, 500, seed=3)
    config, model = loaded.image_config, loaded.model
    device, dtype = next(model.vision_model.parameters()).device, next(model.vision_model.parameters()).dtype
    a, b = (config.load_image(data, max_tiles).to(device, dtype) for data in (photo, second))
    with torch.no_grad():
        apart = torch.cat([model.extract_feature(a), model.extract_feature(b)])
        together = model.extract_feature(torch.cat([a, b]))
    if torch.equal(apart, together):
        return f"features of {len(a)}+{len(b)} tiles encoded apart == in one batch ({loaded.dtype}, {device})"
    diff = (apart.float() - together.float()).abs().max().item()
    return f"features apart != one batch ({loaded.dtype}, {device}): max abs difference {diff:.3g}"


def first_turns(engines: dict[str, LocalEngine], settings: GenerationSettings, rounds: int) -> list[float]:
    """Turn 1 about a photo neither engine has seen, `rounds` times, alternating who goes first."""
    ratios = []
    for index in range(rounds):
        photo = ImageAttachment(make_photo(1000, 500, seed=100 + index), "photo.jpg")
        waits = {}
        for name in list(engines) if index % 2 == 0 else list(reversed(engines)):
            conversation = Conversation()
            conversation.ask(QUESTIONS[0], images=(photo,))
            waits[name] = ttft(engines[name], conversation, settings)[1].time_to_first_token_s
        ratios.append(waits["cache"] / waits["no cache"])
        print(f"turn 1 (new photo {index + 1}): cache {waits['cache']:.2f} s, no cache {waits['no cache']:.2f} s")
    return ratios


def encode_ahead_rounds(engine: LocalEngine, settings: GenerationSettings, rounds: int) -> list[float]:
    """A question sent once `encode_ahead` finished (the user typed slower than the encoder) against
    one sent right after the attach, each about a photo the engine has not seen; alternating."""
    ratios = []
    for index in range(rounds):
        waits = {}
        for kind in ("ahead", "at once") if index % 2 == 0 else ("at once", "ahead"):
            photo = ImageAttachment(make_photo(1000, 500, seed=200 + 2 * index + (kind == "ahead")), "photo.jpg")
            if kind == "ahead":
                typing = Conversation([Turn(question="", images=(photo,))])
                engine.encode_ahead(typing, settings, threading.Event())
            conversation = Conversation()
            conversation.ask(QUESTIONS[0], images=(photo,))
            stats = ttft(engine, conversation, settings)[1]
            waits[kind] = stats.time_to_first_token_s
            computed, reused = (int((stats.stages or {}).get(key, 0)) for key in ("prefill_tokens", "reused_tokens"))
            print(
                f"encode ahead {index + 1} {kind:7}: first token {stats.time_to_first_token_s:6.2f} s "
                f"({computed} tokens computed, {reused} reused)"
            )
        ratios.append(waits["ahead"] / waits["at once"])
    return ratios


def _span(values: list[float]) -> str:
    return f"range {min(values):.2f}-{max(values):.2f}x"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--max-tiles", type=int, default=6)
    parser.add_argument("--new-tokens", type=int, default=8)
    parser.add_argument("--rounds", type=int, default=3, help="new-photo turn-1 and encode-ahead rounds")
    parser.add_argument("--device", choices=["cpu", "cuda"], default="cpu")
    parser.add_argument("--dtype", choices=["float32", "bfloat16", "float16"], default="float32")
    parser.add_argument("--check-batching", action="store_true", help="also compare per-image and batched features")
    parser.add_argument("--batching-only", action="store_true", help="only the batching check, no turns")
    args = parser.parse_args()

    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="bench-turns-") as tmp:
        folder = build_checkpoint(Path(tmp) / "internvl2-1b-random")
        built = time.perf_counter() - started
        loaded = load_model(LoadSpec(str(folder), dtype=args.dtype, device=args.device))
    print(
        f"InternVL2-1B architecture, random weights, {args.dtype} on {args.device}; torch threads "
        f"{torch.get_num_threads()}, load average {os.getloadavg()[0]:.2f}; built in {built:.0f} s, "
        f"loaded {loaded.memory_gb:.2f} GB"
    )
    photo = make_photo(1000, 500, seed=1)  # 2:1 -> a 2x1 grid + thumbnail at max tiles >= 2
    if args.batching_only:
        print(check_batching(loaded, photo, args.max_tiles))
        return 0
    settings = FixedLength(max_new_tokens=args.new_tokens, max_tiles=args.max_tiles)
    engines = {"no cache": LocalEngine(loaded, vision_cache_mb=0, prefix_cache_mb=0), "cache": LocalEngine(loaded)}
    # The first pass through a model, and the first of each input shape, is slower: keep it out of
    # both sides with another photo of the same shape (so no cache can serve the real one).
    warm_up = Conversation()
    warm_up.ask("Hello", images=(ImageAttachment(make_photo(1000, 500, seed=9)),))
    ttft(engines["no cache"], warm_up, FixedLength(max_new_tokens=2, max_tiles=args.max_tiles))
    conversations = {name: Conversation() for name in engines}
    steps = [*((f"turn {i + 1}", i, QUESTIONS[i]) for i in range(3)), ("regenerate 3", 2, QUESTIONS[2])]
    rows = []
    for index, (label, turn_index, question) in enumerate(steps):
        order = list(engines) if index % 2 == 0 else list(reversed(engines))
        results = {}
        for name in order:
            conversation = conversations[name]
            conversation.truncate_to(turn_index)
            images = (ImageAttachment(photo, "photo.jpg"),) if turn_index == 0 else ()
            conversation.ask(question, images=images)
            text, stats = ttft(engines[name], conversation, settings)
            conversation.turns[-1].answer = text
            results[name] = (text, stats)
        same = results["cache"][0] == results["no cache"][0]
        ratio = results["cache"][1].time_to_first_token_s / results["no cache"][1].time_to_first_token_s
        rows.append((label, ratio, same))
        for name in engines:
            stats = results[name][1]
            stages = stats.stages or {}
            parts = " ".join(f"{s[:-2]} {stages.get(s, 0):.2f}s" for s in STAGES)
            print(
                f"{label:13} {name:8}: first token {stats.time_to_first_token_s:6.2f} s ({parts}; "
                f"{stats.prompt_tokens} prompt tokens, {int(stages.get('reused_tokens', 0))} reused, tiles "
                f"{stats.tiles}, vision cache hits {int(stages.get('vision_cache_hits', 0))})"
            )
        print(f"{label:13} cache / no cache: {ratio:.2f}x, answers {'equal' if same else 'DIFFER'}")
    fresh = first_turns(engines, settings, args.rounds)
    ahead = encode_ahead_rounds(engines["cache"], settings, args.rounds)
    print("\nsummary (time to first token, cache / no cache):")
    for label, ratio, same in rows:
        print(f"  {label:13} {ratio:.2f}x{'' if same else '  (answers differ!)'}")
    print(f"  turn 1, {args.rounds} new photos: median {statistics.median(fresh):.2f}x ({_span(fresh)})")
    print(
        f"encode while typing: a question sent after the encoding / right after the attach: median "
        f"{statistics.median(ahead):.2f}x ({_span(ahead)}, {args.rounds} rounds)"
    )
    if args.check_batching:
        print(check_batching(loaded, photo, args.max_tiles))
    print(f"total {time.perf_counter() - started:.0f} s")
    return 0 if all(same for _, _, same in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
