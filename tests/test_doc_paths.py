"""Every repository path the documents cite exists, so a reader who follows one
lands on the file it describes (BENCHMARKS.md once cited five ml/*.py files that had
been split into folders)."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
DOCUMENTS = [
    "README.md",
    "BENCHMARKS.md",
    "RELIABILITY.md",
    *sorted(str(p.relative_to(ROOT)) for p in (ROOT / "docs").glob("*.md")),
]
# Not part of the repository: where the operator puts a file for the image build
# (git-ignored, docs/deploy.md says how it gets there).
OPERATOR_PROVIDED = {
    "docker/build-extra/wheels/",
    "docker/build-extra/ca-certificates.crt",
    "docker/.env",  # the operator copies docker/env.example to it
}
# What the stack writes at run time (var/runstack.json, var/redis/): not in the tree.
RUNTIME = ("var/",)
SKIPPED_DIRS = {".git", "var", "__pycache__", "node_modules", ".mypy_cache", ".ruff_cache"}
SOURCE_FILE = re.compile(r"\.(py|md|sh|ya?ml|toml|html|txt|json|js|css)$")


def top_folders() -> set[str]:
    return {
        p.name
        for p in ROOT.iterdir()
        if p.is_dir()
        and not p.is_symlink()
        and p.name not in SKIPPED_DIRS
        and not p.name.startswith(".")
    }


def repository_files() -> list[str]:
    found = []
    for top in top_folders():
        for folder, dirs, files in os.walk(ROOT / top):
            dirs[:] = [d for d in dirs if d not in SKIPPED_DIRS]
            found += [(Path(folder) / f).relative_to(ROOT).as_posix() for f in files]
    return found


def cited_paths(text: str) -> list[str]:
    """Backticked tokens that name a path: `ml/text/rouge.py`, `jobs/api/`,
    `tests/x.py::test_y` (the test part dropped), `bench/*.py`, `ml/models/<name>/`."""
    paths = []
    for token in re.findall(r"`([^`\s]+)`", text):
        path = re.split(r"::|:(?=\d)", token)[0]
        if "/" in path and not path.startswith(("http", "/", "~", ".", *RUNTIME)):
            paths.append(path)
    return paths


def missing(path: str, tops: set[str], files: list[str]) -> bool:
    """A path from the repository's root (its first folder is one of ours) must exist
    (`*` and `<placeholder>` match any name); a shorter one that names a source file
    (`services/errors.py` in a table of jobs/) must be the end of a file's path."""
    pattern = re.sub(r"<[^>]+>", "*", path)
    if path.split("/")[0] in tops:
        return path not in OPERATOR_PROVIDED and not list(ROOT.glob(pattern.rstrip("/")))
    if SOURCE_FILE.search(path) and "*" not in pattern:
        return not any(f == path or f.endswith("/" + path) for f in files)
    return False


def test_the_check_reads_paths_and_finds_missing_ones():
    text = "See `ml/text/rouge.py`, `tests/test_layout.py::test_no_import_cycle`, `a b`, `x`."
    assert cited_paths(text) == ["ml/text/rouge.py", "tests/test_layout.py"]
    files, tops = ["ml/text/rouge.py", "jobs/services/errors.py"], {"ml", "jobs"}
    assert missing("ml/rouge.py", tops, files)
    assert not missing("ml/text/rouge.py", tops, files)
    assert not missing("ml/models/<name>/", tops, files)
    assert not missing("services/errors.py", tops, files)
    assert missing("services/leases.py", tops, files)


@pytest.mark.parametrize("document", DOCUMENTS)
def test_every_cited_path_exists(document):
    tops, files = top_folders(), repository_files()
    text = (ROOT / document).read_text()
    assert [p for p in cited_paths(text) if missing(p, tops, files)] == []
