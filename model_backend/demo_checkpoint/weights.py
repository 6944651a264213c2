"""Random weights for the demo checkpoint that still behave like a chat model's, in two ways.

1. Every prompt token and image changes the answer (variance-preserving init, sharp attention),
   and answers are made of printable word pieces (control tokens and stray bytes never win).
2. Greedy answers usually stop on their own after a handful of tokens: the end token's output
   row points along the typical final hidden state, scaled on real greedy runs so that about
   half of the calibration prompts end within a couple of dozen tokens.
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
                gain = 3.0 if name.endswith(("q_proj.weight", "k_proj.weight")) else 1.0  # sharper attention
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
    candidates = sorted(
        float(ratio)
        for hidden in paths
        for ratio in ((hidden @ head.T).max(dim=1).values / (hidden @ direction))[EARLIEST_STOP:] * 1.001
        if ratio > 0
    )
    chosen = candidates[-1] if candidates else 0.0
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
