"""Arrows point down: handlers never load Flask or the layers above; processes never load Flask or service."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def loaded_after(module: str) -> set[str]:
    """Import `module` in a fresh interpreter and return the top-level packages then loaded."""
    code = f"import sys, {module}; print('\\n'.join(sorted({{m.split('.')[0] for m in sys.modules}})))"
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    return set(out.stdout.split())


def test_handlers_load_neither_flask_nor_the_upper_layers() -> None:
    import handlers

    names = [f"handlers.{p.stem}" for p in (ROOT / "handlers").glob("*.py") if p.stem != "__init__"]
    loaded = loaded_after(", ".join(["handlers", *names]))
    assert handlers.REGISTRY and not loaded & {"flask", "service", "processes", "SpiffWorkflow"}


def test_processes_load_neither_flask_nor_service() -> None:
    names = [f"processes.{p.stem}" for p in (ROOT / "processes").glob("*.py") if p.stem != "__init__"]
    loaded = loaded_after(", ".join(names))
    assert "processes" in loaded and not loaded & {"flask", "service", "flask_smorest"}


def test_only_the_engine_module_imports_spiffworkflow() -> None:
    importers = sorted(
        str(p.relative_to(ROOT))
        for folder in ("processes", "service", "handlers")
        for p in (ROOT / folder).rglob("*.py")
        if "import SpiffWorkflow" in p.read_text(encoding="utf-8")
        or "from SpiffWorkflow" in p.read_text(encoding="utf-8")
    )
    assert importers == ["processes/engine.py"]
