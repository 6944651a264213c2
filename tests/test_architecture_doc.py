"""docs/architecture.md names real files: every path it mentions exists, so a move that forgets the doc fails."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DOC = ROOT / "docs" / "architecture.md"
BACKEND_LAYER_ROOTS = ("cli", "batch", "serving", "export", "engines", "checkpoints", "preprocess", "storage", "text")


def mentioned_paths() -> set[str]:
    """Backticked names with a slash or a .py ending, up to any `.attribute` (`serving/pool.ModelPool`)."""
    paths = set()
    for quoted in re.findall(r"`([^`\s]+)`", DOC.read_text(encoding="utf-8")):
        name = quoted.rstrip("/")
        if "/" not in quoted and not name.endswith(".py"):
            continue
        if not name.endswith(".py"):
            head, _, rest = name.rpartition("/")
            name = f"{head}/{rest.split('.')[0]}" if head else name
        paths.add(name)
    return paths


def exists(name: str) -> bool:
    candidates = [ROOT / name, ROOT / "model_backend" / name]
    return any(p.exists() or p.with_suffix(".py").exists() for p in candidates)


def test_every_path_in_the_architecture_doc_exists() -> None:
    paths = mentioned_paths()
    assert len(paths) > 30, "the doc walks a question and a batch run through named files"
    assert not [name for name in sorted(paths) if not exists(name)]


def test_the_doc_names_every_backend_package() -> None:
    text = DOC.read_text(encoding="utf-8")
    for package in BACKEND_LAYER_ROOTS:
        assert (ROOT / "model_backend" / package / "__init__.py").is_file()
        assert f"`{package}/`" in text, package


def test_no_module_is_over_400_lines() -> None:
    sources = [*ROOT.glob("model_backend/**/*.py"), *ROOT.glob("components/*.py"), *ROOT.glob("app_pages/*.py")]
    checked = [p for p in sources if "demo_checkpoint/files" not in p.as_posix()]  # the checkpoints' own code
    long = {p.relative_to(ROOT).as_posix() for p in checked if len(p.read_text(encoding="utf-8").splitlines()) > 400}
    assert not long
