"""How InternVL cuts an image into 448x448 tiles: the grid choice, without pixels or torch.

This is the seeds' `dynamic_preprocess` (InternVL2 quick start) reduced to its arithmetic, so
the UI can preview the tiles and their token cost of an upload without loading a model. The
grid choice must match the seeds exactly, tie rule included: the checkpoints were trained on it.

>>> plan = plan_tiles(4000, 3000, max_tiles=12)
>>> (plan.columns, plan.rows, plan.tile_count)
(4, 3, 13)
>>> visual_tokens(plan.tile_count)
3328
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

TOKENS_PER_TILE = 256  # 1024 ViT patches per 448px tile, pixel shuffle 0.5 -> 256 LLM tokens


@dataclass(frozen=True)
class TilePlan:
    """A grid of `columns` x `rows` tiles of `image_size` px, plus a whole-image thumbnail if `thumbnail`.

    The image is resized to (columns * image_size, rows * image_size) and cut row by row.
    `thumbnail` is only ever True when the grid has more than one tile (as in the seeds).
    """

    columns: int
    rows: int
    thumbnail: bool
    image_size: int = 448

    @property
    def grid_tiles(self) -> int:
        return self.columns * self.rows

    @property
    def tile_count(self) -> int:
        """Tiles handed to the model: the grid plus the thumbnail."""
        return self.grid_tiles + int(self.thumbnail)

    @property
    def resized_size(self) -> tuple[int, int]:
        """(width, height) the image is resized to before cutting."""
        return self.columns * self.image_size, self.rows * self.image_size

    @property
    def boxes(self) -> list[tuple[int, int, int, int]]:
        """Crop boxes (left, upper, right, lower) in resized-image coordinates, in model order."""
        s = self.image_size
        return [(c * s, r * s, (c + 1) * s, (r + 1) * s) for r in range(self.rows) for c in range(self.columns)]


@lru_cache(maxsize=64)
def candidate_grids(min_tiles: int, max_tiles: int) -> tuple[tuple[int, int], ...]:
    """All (columns, rows) with min_tiles <= columns*rows <= max_tiles, in the seeds' order.

    Built exactly like the seeds (a set, then a stable sort by tile count): among grids with the
    same count the order is CPython's set order, which is deterministic for small int tuples and
    decides exact distance ties (e.g. min_tiles=max_tiles=2 on a 5:4 image picks one of 1x2 / 2x1).
    """
    grids = {
        (i, j)
        for n in range(min_tiles, max_tiles + 1)
        for i in range(1, n + 1)
        for j in range(1, n + 1)
        if i * j <= max_tiles and i * j >= min_tiles
    }
    return tuple(sorted(grids, key=lambda g: g[0] * g[1]))


def closest_grid(width: int, height: int, grids: tuple[tuple[int, int], ...], image_size: int) -> tuple[int, int]:
    """The grid whose aspect ratio is closest to width/height.

    Ties go to the later (larger) grid when the image area exceeds half of that grid's pixel area,
    exactly as the seeds' `find_closest_aspect_ratio` (same float operations, same order).
    """
    aspect_ratio = width / height
    area = width * height
    best_diff = float("inf")
    best = (1, 1)
    for cols, rows in grids:
        diff = abs(aspect_ratio - cols / rows)
        if diff < best_diff:
            best_diff, best = diff, (cols, rows)
        elif diff == best_diff and area > 0.5 * image_size * image_size * cols * rows:
            best = (cols, rows)
    return best


def plan_tiles(
    width: int,
    height: int,
    max_tiles: int = 12,
    min_tiles: int = 1,
    image_size: int = 448,
    use_thumbnail: bool = True,
) -> TilePlan:
    """Plan the tiles of a `width` x `height` image, as the seeds' `dynamic_preprocess` would cut it.

    >>> plan_tiles(448, 448).tile_count
    1
    >>> plan_tiles(1000, 100, max_tiles=6).boxes[-1]
    (2240, 0, 2688, 448)
    """
    if width < 1 or height < 1:
        raise ValueError(f"image size must be positive, got {width}x{height}")
    if not 1 <= min_tiles <= max_tiles:
        raise ValueError(f"need 1 <= min_tiles <= max_tiles, got min_tiles={min_tiles}, max_tiles={max_tiles}")
    cols, rows = closest_grid(width, height, candidate_grids(min_tiles, max_tiles), image_size)
    return TilePlan(cols, rows, thumbnail=use_thumbnail and cols * rows != 1, image_size=image_size)


def visual_tokens(tile_count: int, tokens_per_tile: int = TOKENS_PER_TILE) -> int:
    """LLM tokens the image tiles take (not counting the <img> and </img> markers)."""
    return tile_count * tokens_per_tile
