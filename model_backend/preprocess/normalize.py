"""uint8 tiles -> normalised float32 tensors, bit-identical to the reference transforms, in one batch.

The reference pipelines normalise tile by tile; these functions do the same element-wise
float operations, in the same order and precision, on all tiles at once:

- seeds (torchvision `ToTensor` + `Normalize`): ((float32(v) / 255) - mean[c]) / std[c], in float32;
- InternVL-Chat-V1-2 (`CLIPImageProcessor`): float32(float64(v) * (1/255)), then (x - mean) / std in float32.

Element-wise IEEE operations give the same result however they are batched, so the tensors
are `torch.equal` to the reference (the tests check every uint8 value).
"""

from __future__ import annotations

import numpy as np
import torch

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


def normalize_tiles(
    tiles: np.ndarray, mean: tuple[float, ...] = IMAGENET_MEAN, std: tuple[float, ...] = IMAGENET_STD
) -> torch.Tensor:
    """(N, H, W, 3) uint8 -> (N, 3, H, W) float32, as torchvision's ToTensor then Normalize."""
    if not tiles.flags.writeable:  # torch warns on read-only buffers (np.asarray of a PIL image)
        tiles = tiles.copy()
    chw = torch.from_numpy(tiles).permute(0, 3, 1, 2).contiguous()  # uint8 transpose: cheap
    m = torch.as_tensor(mean, dtype=torch.float32)[:, None, None]
    s = torch.as_tensor(std, dtype=torch.float32)[:, None, None]
    return chw.to(torch.float32).div_(255).sub_(m).div_(s)  # ToTensor's /255, then Normalize, op for op


def normalize_clip(
    tiles: np.ndarray, mean: tuple[float, ...] = IMAGENET_MEAN, std: tuple[float, ...] = IMAGENET_STD
) -> torch.Tensor:
    """(N, H, W, 3) uint8 -> (N, 3, H, W) float32, as transformers' CLIPImageProcessor rescale+normalize."""
    x = (tiles.astype(np.float64) * (1 / 255)).astype(np.float32)
    x = (x - np.array(mean, dtype=np.float32)) / np.array(std, dtype=np.float32)
    return torch.from_numpy(np.ascontiguousarray(x.transpose(0, 3, 1, 2)))
