"""Every YAML scenario in this folder runs through the runtime, on SQLite and (in CI) on PostgreSQL."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from processes.scenarios import ScenarioFailed, run_file
from service.cli import main

HERE = Path(__file__).parent
ROOT = HERE.parent.parent
SCENARIOS = sorted(HERE.glob("*.yaml"))


def _case(path: Path) -> object:
    """A scenario as a test case; `known_issue: <why>` in the file marks it to fail (strictly) until fixed."""
    spec = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    issue = spec.get("known_issue")
    marks = [pytest.mark.xfail(reason=str(issue), strict=True)] if issue else []
    return pytest.param(path, marks=marks, id=path.stem)


@pytest.mark.parametrize("path", [_case(p) for p in SCENARIOS])
def test_scenario(path: Path, db_url: str) -> None:
    result = run_file(path, bpmn_dir=ROOT / "bpmn", forms_dir=ROOT / "forms", database_url=db_url)
    assert result.ok and result.steps > 0


def test_a_failing_expectation_names_the_step(tmp_path: Path, db_url: str) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text(
        "name: 故意失败\ndeploy: [tests/fixtures]\nsteps:\n"
        "  - start: {process: two_lanes, as: jyj_jb}\n"
        "  - expect: {status: complete}\n",
        encoding="utf-8",
    )
    with pytest.raises(ScenarioFailed, match="第 2 步 expect: status 应为 complete，实际 running"):
        run_file(bad, bpmn_dir=ROOT / "bpmn", forms_dir=ROOT / "forms", database_url=db_url)


def test_the_cli_runs_scenarios() -> None:
    result = CliRunner().invoke(main, ["scenario", "run", str(HERE / "runner_selftest.yaml")])
    assert result.exit_code == 0, result.output
    assert "通过" in result.output
