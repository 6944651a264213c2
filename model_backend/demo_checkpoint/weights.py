"""Random weights for the demo checkpoint that still behave like a chat model's, in two ways.

1. Every prompt token and image changes the answer (variance-preserving init, sharp attention),
   and answers are made of printable word pieces (control tokens and stray bytes never win).
2. Greedy answers usually stop on their own after a handful of tokens: the end token's output
   row points along the typical final hidden state, scaled on real greedy runs so that about
   half of the calibration prompts end within a couple of dozen tokens. `keep_image_answers`
   then checks prompts with images, and shrinks that row until none of them stops at once.
"""

from __future__ import annotations

import torch

#: Chat prompts the end-token scale is calibrated on (greedy paths of CALIBRATION_STEPS tokens).
CALIBRATION_QUESTIONS = (
    "Hello",
    "Who are you?",
    "Describe the image in detail.",
    "What is in the picture?",
    "Compare the two images.",
    "How many people can you see?",
    "Tell me a story about a cat.",
    "What happens in the video?",
)
CALIBRATION_STEPS = 32
#: The end token may win from this step on; earlier stops would give near-empty answers.
EARLIEST_STOP = 4
#: Attention weights that get a sharper init: query and key projections, or (InternLM2, Phi-3) the
#: packed query-key-value projection.
_QK_WEIGHTS = ("q_proj.weight", "k_proj.weight", "wqkv.weight", "qkv_proj.weight")


def init_weights(model: torch.nn.Module, generator: torch.Generator) -> None:
    """Fill every parameter from `generator`; values are rounded through bfloat16 (the saved dtype)."""
    with torch.no_grad():
        for name, param in sorted(model.named_parameters()):
            if name.endswith("bias"):
                param.zero_()
            elif param.ndim == 1:  # LayerNorm / RMSNorm scales and the ViT layer scales
                param.fill_(1.0)
            elif "embed" in name and "patch" not in name:  # token, class and position embeddings
                param.copy_(torch.randn(param.shape, generator=generator))
            else:
                fan_in = param[0].numel()
                gain = 3.0 if name.endswith(_QK_WEIGHTS) else 1.0  # sharper attention
                param.copy_(torch.randn(param.shape, generator=generator) * gain / fan_in**0.5)
            param.copy_(param.to(torch.bfloat16).float())


def silence_tokens(model, tokenizer, token_ids: list[int]) -> None:
    """Zero the output rows of control tokens, unprintable single bytes and vocabulary padding.

    A zero row gives logit 0, which never beats the best of ~800 random logits.
    """
    head = model.language_model.get_output_embeddings().weight
    silent = set(token_ids) | set(range(len(tokenizer), head.shape[0]))
    for token_id in range(len(tokenizer)):
        text = tokenizer.decode([token_id])
        if _unprintable(text):
            silent.add(token_id)
    with torch.no_grad():
        head[sorted(silent)] = 0.0


def _unprintable(text: str) -> bool:
    """Blank pieces other than one space or newline, control characters and partial UTF-8 bytes."""
    if not text.strip() and text not in (" ", "\n"):
        return True
    return any(not (ch.isprintable() or ch in " \n") or ch == "\ufffd" for ch in text)


def _greedy_hidden(model, input_ids: list[int], steps: int) -> torch.Tensor:
    """Final (normed) hidden states along the greedy path, one per generated step."""
    lm = model.language_model
    ids = torch.tensor([input_ids])
    states = []
    with torch.no_grad():
        for _ in range(steps):
            hidden = lm(ids, output_hidden_states=True).hidden_states[-1][0, -1]
            states.append(hidden)
            next_id = int(lm.get_output_embeddings()(hidden).argmax())
            ids = torch.cat([ids, torch.tensor([[next_id]])], dim=1)
    return torch.stack(states)


def calibrate_eos(model, tokenizer, eos_id: int) -> float:
    """Set the end token's output row (see module docstring); returns the median stop step."""
    conv = model.conv_template.copy()
    conv.system_message = model.system_message
    head = model.language_model.get_output_embeddings().weight
    with torch.no_grad():
        head[eos_id] = 0.0
    paths = []
    for question in CALIBRATION_QUESTIONS:
        prompt = conv.copy()
        prompt.append_message(prompt.roles[0], question)
        prompt.append_message(prompt.roles[1], None)
        paths.append(_greedy_hidden(model, tokenizer(prompt.get_prompt())["input_ids"], CALIBRATION_STEPS))
    direction = torch.cat(paths).mean(0)
    direction = direction / direction.norm()

    def first_stops(scale: float) -> list[int]:
        stops = []
        for hidden in paths:
            others = (hidden @ head.T).max(dim=1).values
            wins = (scale * (hidden @ direction) > others).nonzero().flatten().tolist()
            stops.append(wins[0] if wins else CALIBRATION_STEPS)
        return stops

    # Smallest scale at which half of the prompts stop, while none stops before EARLIEST_STOP.
    ratios = [(hidden @ head.T).max(dim=1).values / (hidden @ direction) for hidden in paths]
    candidates = sorted(float(r) for ratio in ratios for r in ratio[EARLIEST_STOP:] * 1.001 if r > 0)
    # If even the smallest stops some prompt too early (greedy paths that start alike), take the
    # largest scale that never wins before EARLIEST_STOP: answers then stop where they can.
    early = [float(r) for ratio in ratios for r in ratio[:EARLIEST_STOP] if r > 0]
    chosen = min(early) * 0.999 if early else (candidates[-1] if candidates else 0.0)
    for scale in candidates:
        stops = first_stops(scale)
        if min(stops) < EARLIEST_STOP:
            break
        chosen = scale
        if sorted(stops)[len(stops) // 2] < CALIBRATION_STEPS:
            break
    with torch.no_grad():
        head[eos_id] = (direction * chosen).to(torch.bfloat16).float()
    stops = first_stops(chosen)
    return float(sorted(stops)[len(stops) // 2])


def keep_image_answers(model, tokenizer, eos_id: int, rounds: int = 40) -> int:
    """Shrink the end token's row until no image prompt ends within EARLIEST_STOP tokens.

    The scale is calibrated on text prompts; with some LLM families, image features pull the
    first hidden states towards the end direction, so image answers would be empty. The check
    uses smooth random images (1 tile, 7 tiles, and two images). Returns the rounds it shrank.
    """
    generator = torch.Generator().manual_seed(7)
    images = [
        torch.nn.functional.interpolate(torch.randn(n, 3, 6, 6, generator=generator), size=448, mode="bilinear")
        for n in (1, 7, 3)
    ]
    cases = [
        ([images[0]], "Describe the image."),
        ([images[1]], "What is in the picture?"),
        ([images[0], images[2]], "What differs between the two images?"),
    ]
    head = model.language_model.get_output_embeddings().weight
    model.img_context_token_id = tokenizer.convert_tokens_to_ids("<IMG_CONTEXT>")
    for shrunk in range(rounds):
        if not any(_stops_early(model, tokenizer, eos_id, tiles, question) for tiles, question in cases):
            return shrunk
        with torch.no_grad():
            head[eos_id] = (head[eos_id] * 0.9).to(torch.bfloat16).float()
    return rounds


def _stops_early(model, tokenizer, eos_id: int, tiles: list[torch.Tensor], question: str) -> bool:
    prompt = model.conv_template.copy()
    prompt.system_message = model.system_message
    labels = "".join(f"Image-{i + 1}: <image>\n" for i in range(len(tiles))) if len(tiles) > 1 else "<image>\n"
    prompt.append_message(prompt.roles[0], labels + question)
    prompt.append_message(prompt.roles[1], None)
    query = prompt.get_prompt()
    for image in tiles:
        query = query.replace("<image>", "<img>" + "<IMG_CONTEXT>" * model.num_image_token * len(image) + "</img>", 1)
    inputs = tokenizer(query, return_tensors="pt")
    with torch.no_grad():
        output = model.generate(
            pixel_values=torch.cat(tiles),
            input_ids=inputs["input_ids"],
            attention_mask=inputs["attention_mask"],
            max_new_tokens=EARLIEST_STOP,
            do_sample=False,
            eos_token_id=eos_id,
            pad_token_id=eos_id,
        )
    return eos_id in output[0].tolist()
