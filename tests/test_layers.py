"""The layer contract bites: `lint-imports`, with the project's own configuration, fails on
a copy of the package with one upward import planted in it, and passes on the real tree."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "src" / "deadline_watch"
CONFIG = ROOT / "pyproject.toml"
LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")


def lint_imports(src: Path, cwd: Path) -> subprocess.CompletedProcess:
    if not LINT_IMPORTS.exists():  # pragma: no cover - installed with the dev dependencies
        pytest.fail(f"lint-imports is not installed next to {sys.executable}")
    env = {**os.environ, "PYTHONPATH": str(src)}
    return subprocess.run(
        [str(LINT_IMPORTS), "--no-cache", "--no-logo", str(CONFIG)],
        cwd=cwd, env=env, capture_output=True, text=True, timeout=300,
    )


def planted_copy(tmp_path: Path, module: str, line: str) -> Path:
    src = tmp_path / "src"
    shutil.copytree(PACKAGE, src / "deadline_watch", ignore=shutil.ignore_patterns("__pycache__"))
    target = src / "deadline_watch" / module
    target.write_text(target.read_text(encoding="utf-8") + f"\n{line}\n", encoding="utf-8")
    return src


def test_lint_imports_fails_on_a_planted_upward_import(tmp_path):
    src = planted_copy(tmp_path, "core/errors.py", "import deadline_watch.cli  # planted: core must not see cli")
    result = lint_imports(src, tmp_path)
    output = result.stdout + result.stderr
    assert result.returncode != 0, output
    assert "Layers point down: edges -> use cases -> sms -> domain -> core BROKEN" in output
    assert "deadline_watch.core.errors -> deadline_watch.cli" in output


def test_lint_imports_fails_on_a_planted_import_between_sibling_use_cases(tmp_path):
    src = planted_copy(tmp_path, "board/lights.py", "def _peek():\n    import deadline_watch.watch.rules  # noqa")
    result = lint_imports(src, tmp_path)
    assert result.returncode != 0
    assert "deadline_watch.board.lights -> deadline_watch.watch.rules" in result.stdout + result.stderr


def test_lint_imports_passes_on_the_real_tree(tmp_path):
    result = lint_imports(ROOT / "src", tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout
