"""store/ and demo/ are headless: importing any of their modules must not pull in the UI stack."""

from __future__ import annotations

import json
import pkgutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
UI_PACKAGES = ("textual", "rich", "plotext", "textual_plotext")


def headless_modules() -> list[str]:
    names = []
    for package in ("store", "demo"):
        names.append(package)
        for info in pkgutil.walk_packages([str(ROOT / package)], prefix=f"{package}."):
            names.append(info.name)
    return names


def test_there_are_modules_to_check():
    modules = headless_modules()
    assert "store.schema" in modules and "store.batch" in modules
    assert any(name.startswith("demo") for name in modules)


@pytest.mark.parametrize("module", headless_modules())
def test_module_imports_no_ui_package(module: str):
    probe = (
        "import importlib, json, sys\n"
        f"importlib.import_module({module!r})\n"
        f"print(json.dumps(sorted(m for m in sys.modules if m.split('.')[0] in {UI_PACKAGES!r})))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout.strip().splitlines()[-1]) == []


def test_probe_detects_a_ui_import():
    """The check itself can fail: a module importing rich is caught."""
    probe = (
        "import json, sys\nimport rich.text\n"
        f"print(json.dumps(sorted(m for m in sys.modules if m.split('.')[0] in {UI_PACKAGES!r})))\n"
    )
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True)
    assert "rich" in json.loads(result.stdout.strip().splitlines()[-1])[0]
