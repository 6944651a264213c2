"""A server-side dataset run never tells whether a path outside its folders exists."""

from __future__ import annotations

import json
from pathlib import Path

from model_backend.batch.datasets import read_rows
from tests.media_factory import make_png


def test_outside_paths_read_as_missing_whether_or_not_they_exist(tmp_path: Path) -> None:
    folder, elsewhere = tmp_path / "run", tmp_path / "elsewhere"
    folder.mkdir()
    elsewhere.mkdir()
    (folder / "in.png").write_bytes(make_png(8, 8))
    (elsewhere / "exists.png").write_bytes(make_png(8, 8))
    names = ["in.png", str(elsewhere / "exists.png"), str(elsewhere / "absent.png"), "../elsewhere/exists.png"]
    dataset = folder / "rows.jsonl"
    dataset.write_text("".join(json.dumps({"image": name, "question": "q"}) + "\n" for name in names))
    rows = list(read_rows(dataset, folder, confine=(folder.resolve(),)))
    assert rows[0].error is None
    assert [row.error for row in rows[1:]] == [f"image file not found: {name}" for name in names[1:]]
    # Without confinement (the command line, on the user's own files) an existing file is read.
    assert next(iter(read_rows(dataset, folder))).error is None
    assert list(read_rows(dataset, folder))[1].error is None
