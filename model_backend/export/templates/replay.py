"""Replay a conversation recorded by InternVL Studio with the checkpoint's own `model.chat`.

InternVL Studio wrote this file (Export > Replay script). It loads the checkpoint the way its
model card does, prepares the images and videos next to this file with the reference code of
the InternVL2 quick start (copied below), and asks every recorded question again, with the
generation settings, tile budget, system message and history the app used. For each answer it
says whether it equals the one the app recorded.

    python replay.py                                   # the checkpoint the app used
    python replay.py --checkpoint /path/to/checkpoint  # another copy of it (or a fix to try)
    python replay.py --dtype float32 --device cpu      # where to run it
    python replay.py --json                            # one JSON line per turn

Needs torch, torchvision, transformers (InternVL checkpoints' own code wants 4.37.2 to 4.51.x),
pillow, and decord for videos; bitsandbytes for a checkpoint loaded in 8 or 4 bits.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import sys
from pathlib import Path

import numpy as np
import torch
import torchvision.transforms as T
from PIL import Image
from torchvision.transforms.functional import InterpolationMode
from transformers import AutoConfig, AutoModel, AutoTokenizer, BitsAndBytesConfig, CLIPImageProcessor

# ---- recorded by InternVL Studio ----
CHECKPOINT = "OpenGVLab/InternVL2-1B"
DTYPE = "bfloat16"
DEVICE = "auto"
QUANTIZATION = "none"
FLASH_ATTENTION = True
SYSTEM_MESSAGE = None  # None: the checkpoint's own system message
GENERATION_CONFIG = {"max_new_tokens": 512, "do_sample": False, "repetition_penalty": 1.0}
# The images and videos, in the order of the prompt's <image> placeholders (a video: one per frame).
MEDIA: list[dict] = []
# One model.chat call per turn: the history as the app sent it, the question, the media it sees.
TURNS: list[dict] = []
# ---- end of recording ----

HERE = Path(__file__).resolve().parent

# ---- the reference preprocessing of the InternVL2 quick start, as written there ----
# Changed only where noted: `load_image` takes `min_num` and `use_thumbnail` (the quick start
# hard-codes 1 and True) so that they can come from the checkpoint's config, as the app reads them.
# fmt: off
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)

def build_transform(input_size):
    MEAN, STD = IMAGENET_MEAN, IMAGENET_STD
    transform = T.Compose([
        T.Lambda(lambda img: img.convert('RGB') if img.mode != 'RGB' else img),
        T.Resize((input_size, input_size), interpolation=InterpolationMode.BICUBIC),
        T.ToTensor(),
        T.Normalize(mean=MEAN, std=STD)
    ])
    return transform

def find_closest_aspect_ratio(aspect_ratio, target_ratios, width, height, image_size):
    best_ratio_diff = float('inf')
    best_ratio = (1, 1)
    area = width * height
    for ratio in target_ratios:
        target_aspect_ratio = ratio[0] / ratio[1]
        ratio_diff = abs(aspect_ratio - target_aspect_ratio)
        if ratio_diff < best_ratio_diff:
            best_ratio_diff = ratio_diff
            best_ratio = ratio
        elif ratio_diff == best_ratio_diff:  # noqa: SIM102  (as the quick start writes it)
            if area > 0.5 * image_size * image_size * ratio[0] * ratio[1]:
                best_ratio = ratio
    return best_ratio

def dynamic_preprocess(image, min_num=1, max_num=12, image_size=448, use_thumbnail=False):
    orig_width, orig_height = image.size
    aspect_ratio = orig_width / orig_height

    # calculate the existing image aspect ratio
    target_ratios = set(
        (i, j) for n in range(min_num, max_num + 1) for i in range(1, n + 1) for j in range(1, n + 1) if
        i * j <= max_num and i * j >= min_num)
    target_ratios = sorted(target_ratios, key=lambda x: x[0] * x[1])

    # find the closest aspect ratio to the target
    target_aspect_ratio = find_closest_aspect_ratio(
        aspect_ratio, target_ratios, orig_width, orig_height, image_size)

    # calculate the target width and height
    target_width = image_size * target_aspect_ratio[0]
    target_height = image_size * target_aspect_ratio[1]
    blocks = target_aspect_ratio[0] * target_aspect_ratio[1]

    # resize the image
    resized_img = image.resize((target_width, target_height))
    processed_images = []
    for i in range(blocks):
        box = (
            (i % (target_width // image_size)) * image_size,
            (i // (target_width // image_size)) * image_size,
            ((i % (target_width // image_size)) + 1) * image_size,
            ((i // (target_width // image_size)) + 1) * image_size
        )
        # split the image
        split_img = resized_img.crop(box)
        processed_images.append(split_img)
    assert len(processed_images) == blocks
    if use_thumbnail and len(processed_images) != 1:
        thumbnail_img = image.resize((image_size, image_size))
        processed_images.append(thumbnail_img)
    return processed_images

def load_image(image_file, input_size=448, max_num=12, min_num=1, use_thumbnail=True):
    image = Image.open(image_file).convert('RGB')
    transform = build_transform(input_size=input_size)
    images = dynamic_preprocess(image, min_num=min_num, image_size=input_size, use_thumbnail=use_thumbnail,
                                max_num=max_num)
    pixel_values = [transform(image) for image in images]
    pixel_values = torch.stack(pixel_values)
    return pixel_values

def get_index(bound, fps, max_frame, first_idx=0, num_segments=32):
    if bound:
        start, end = bound[0], bound[1]
    else:
        start, end = -100000, 100000
    start_idx = max(first_idx, round(start * fps))
    end_idx = min(round(end * fps), max_frame)
    seg_size = float(end_idx - start_idx) / num_segments
    frame_indices = np.array([
        int(start_idx + (seg_size / 2) + np.round(seg_size * idx))
        for idx in range(num_segments)
    ])
    return frame_indices

def load_video(video_path, bound=None, input_size=448, max_num=1, num_segments=32):
    from decord import VideoReader, cpu  # imported here: only videos need decord

    vr = VideoReader(video_path, ctx=cpu(0), num_threads=1)
    max_frame = len(vr) - 1
    fps = float(vr.get_avg_fps())

    pixel_values_list, num_patches_list = [], []
    transform = build_transform(input_size=input_size)
    frame_indices = get_index(bound, fps, max_frame, first_idx=0, num_segments=num_segments)
    for frame_index in frame_indices:
        img = Image.fromarray(vr[frame_index].asnumpy()).convert('RGB')
        img = dynamic_preprocess(img, image_size=input_size, use_thumbnail=True, max_num=max_num)
        pixel_values = [transform(tile) for tile in img]
        pixel_values = torch.stack(pixel_values)
        num_patches_list.append(pixel_values.shape[0])
        pixel_values_list.append(pixel_values)
    pixel_values = torch.cat(pixel_values_list)
    return pixel_values, num_patches_list
# fmt: on
# ---- end of the reference preprocessing ----


def load_media(item: dict, config, checkpoint: str) -> tuple[torch.Tensor, list[int]]:
    """(pixel values, tiles per image) of one recorded image or video, as the app prepared it."""
    path = str(HERE / item["file"])
    image_size = config.force_image_size or config.vision_config.image_size
    if item["kind"] == "video":
        return load_video(
            path, bound=item["bound"], input_size=image_size, max_num=item["max_num"], num_segments=item["frames"]
        )
    if not getattr(config, "dynamic_image_size", False):
        # A checkpoint without dynamic tiling (InternVL-Chat-V1-2): one square image, as its model card does.
        processor = CLIPImageProcessor.from_pretrained(checkpoint)
        image = Image.open(path).convert("RGB").resize((image_size, image_size))
        return processor(images=image, return_tensors="pt").pixel_values, [1]
    min_num = min(max(1, getattr(config, "min_dynamic_patch", 1)), item["max_num"])
    pixel_values = load_image(
        path,
        input_size=image_size,
        max_num=item["max_num"],
        min_num=min_num,
        use_thumbnail=bool(getattr(config, "use_thumbnail", False)),
    )
    return pixel_values, [pixel_values.shape[0]]


def load_checkpoint(checkpoint: str, dtype: torch.dtype, device: str):
    """The model and tokenizer, loaded as the model card loads them (and as the app did)."""
    flash = FLASH_ATTENTION and device.startswith("cuda") and importlib.util.find_spec("flash_attn") is not None
    kwargs = {"torch_dtype": dtype, "low_cpu_mem_usage": True, "use_flash_attn": flash, "trust_remote_code": True}
    if QUANTIZATION != "none":
        # As the app quantizes: a 300M vision encoder and the projector stay unquantized, the output head too.
        vision_width = AutoConfig.from_pretrained(checkpoint, trust_remote_code=True).vision_config.hidden_size
        skip = ["lm_head", "output"] + (["vision_model", "mlp1"] if vision_width != 3200 else [])
        if QUANTIZATION == "8bit":
            kwargs["quantization_config"] = BitsAndBytesConfig(load_in_8bit=True, llm_int8_skip_modules=skip)
        else:
            kwargs["quantization_config"] = BitsAndBytesConfig(
                load_in_4bit=True, bnb_4bit_compute_dtype=dtype, llm_int8_skip_modules=skip
            )
        kwargs["device_map"] = {"": device}
    model = AutoModel.from_pretrained(checkpoint, **kwargs).eval()
    if QUANTIZATION == "none":
        model = model.to(device)
    tokenizer = AutoTokenizer.from_pretrained(checkpoint, trust_remote_code=True, use_fast=False)
    return model, tokenizer


def replay_turn(model, tokenizer, turn: dict, media: list, dtype: torch.dtype, device: str) -> str:
    """One `model.chat` call with this turn's history, question and images."""
    seen = [media[index] for index in turn["media"]]
    pixel_values = torch.cat([pixels for pixels, _ in seen]).to(device=device, dtype=dtype) if seen else None
    num_patches_list = [count for _, counts in seen for count in counts]
    history = [tuple(pair) for pair in turn["history"]]
    torch.manual_seed(0)  # only matters when sampling: then two runs of this script agree with each other
    with torch.no_grad():
        return model.chat(
            tokenizer,
            pixel_values,
            turn["question"],
            dict(GENERATION_CONFIG),  # a copy: chat writes eos_token_id into it
            history=history or None,
            return_history=False,
            num_patches_list=num_patches_list or None,
        )


def compare(turn: dict, answer: str) -> bool | None:
    """Whether the replayed answer is the app's (its start, when the app's was cut short); None: no app answer."""
    recorded = turn["app_answer"]
    if recorded is None:
        return None
    return answer.startswith(recorded) if turn["app_answer_cut_short"] else answer == recorded


def report(number: int, turn: dict, answer: str, same: bool | None) -> None:
    print(f"--- Turn {number} ---")
    print(f"User: {turn['question']}")
    print(f"Assistant: {answer}")
    if same is None:
        print(f"The app recorded no answer to this question (its error: {turn['app_error']}).")
    elif turn["app_answer_cut_short"]:
        print(f"The app's answer was cut short; this one starts the same way: {'yes' if same else 'NO'}")
        if not same:
            print(f"The app answered: {turn['app_answer']}")
    else:
        print(f"Same as the app's answer: {'yes' if same else 'NO'}")
        if not same:
            print(f"The app answered: {turn['app_answer']}")
    print()


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="Replay an InternVL Studio conversation with model.chat.")
    parser.add_argument("--checkpoint", default=CHECKPOINT, help=f"folder or hub id (default: {CHECKPOINT})")
    parser.add_argument("--dtype", default=DTYPE, choices=["bfloat16", "float16", "float32"])
    parser.add_argument("--device", default=DEVICE, help="auto (a GPU when there is one), cpu, cuda, cuda:1...")
    parser.add_argument("--json", action="store_true", help="print one JSON object per turn instead")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    dtype = getattr(torch, args.dtype)
    device = ("cuda" if torch.cuda.is_available() else "cpu") if args.device == "auto" else args.device
    model, tokenizer = load_checkpoint(args.checkpoint, dtype, device)
    if SYSTEM_MESSAGE is not None:
        model.system_message = SYSTEM_MESSAGE  # what the app put into the prompt's system part
    media = [load_media(item, model.config, args.checkpoint) for item in MEDIA]
    matches = 0
    for number, turn in enumerate(TURNS, start=1):
        answer = replay_turn(model, tokenizer, turn, media, dtype, device)
        same = compare(turn, answer)
        matches += bool(same)
        if args.json:
            record = {"turn": number, "answer": answer, "app_answer": turn["app_answer"], "same": same}
            print(json.dumps(record, ensure_ascii=False), flush=True)
        else:
            report(number, turn, answer, same)
    if not args.json:
        compared = sum(turn["app_answer"] is not None for turn in TURNS)
        print(f"{matches} of {compared} answers match the app's.")
        if GENERATION_CONFIG.get("do_sample"):
            print("The app sampled (do_sample=True), so answers differ from run to run; a difference is expected.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
