"""Every notebook in analysis/ executes headless without error."""

import importlib.util
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
_spec = importlib.util.spec_from_file_location("analysis_run", ROOT / "analysis" / "_run.py")
runner = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(runner)


@pytest.mark.slow
@pytest.mark.parametrize("path", runner.notebooks(), ids=lambda p: p.stem)
def test_notebook_executes(path, tmp_path):
    pytest.importorskip("nbclient")
    target = runner.execute(path, out_dir=tmp_path)
    assert target.exists()
