"""`egovflow validate`: element-level messages and exit 1 for bad input, never a traceback."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from service.cli import main
from tests.workflows import FORM, linear, routed, two_lanes

XXE = """<?xml version="1.0"?>
<!DOCTYPE d [<!ENTITY x SYSTEM "file:///etc/passwd">]>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" id="d">&x;</bpmn:definitions>"""
LAUGHS = (
    '<?xml version="1.0"?><!DOCTYPE l [<!ENTITY a "aaaaaaaaaa">'
    + "".join(f'<!ENTITY {chr(98 + i)} "{("&" + chr(97 + i) + ";") * 10}">' for i in range(8))
    + ']><bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL">&i;</bpmn:definitions>'
)


BPMN_DIR = Path(__file__).resolve().parents[2] / "bpmn"


def repository_models() -> dict[str, str | bytes]:
    """The repository's diagrams and decision tables, as a bundle to edit and validate."""
    return {p.name: p.read_bytes() for p in BPMN_DIR.iterdir() if p.suffix in (".bpmn", ".dmn")}


def run(tmp_path: Path, files: dict[str, str | bytes]) -> tuple[int, str]:
    """Write files and validate them; return (exit code, output)."""
    for name, content in files.items():
        path = tmp_path / name
        path.write_bytes(content if isinstance(content, bytes) else content.encode())
    result = CliRunner().invoke(main, ["validate", str(tmp_path)])
    assert "Traceback" not in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)
    return result.exit_code, result.output


def test_valid_bundle_passes(tmp_path: Path) -> None:
    code, output = run(tmp_path, {"a.bpmn": two_lanes(), "b.bpmn": linear(), "approval.schema.json": FORM})
    assert code == 0 and "校验通过" in output


@pytest.mark.parametrize(
    "content, expected",
    [
        (b"", "文件为空"),
        (bytes(range(256)) * 4, "XML"),
        (two_lanes()[:400].encode(), "XML 格式错误"),
        (XXE.encode(), ""),
        (LAUGHS.encode(), ""),
        (b"<html><body>not bpmn</body></html>", ""),
    ],
)
def test_malformed_and_hostile_files_are_refused(tmp_path: Path, content: bytes, expected: str) -> None:
    code, output = run(tmp_path, {"bad.bpmn": content})
    assert code == 1
    assert "bad.bpmn" in output and expected in output
    assert "root:" not in output  # the external entity was never resolved


@pytest.mark.parametrize(
    "script, message",
    [
        ("import os", "导入"),
        ("data = open('/etc/passwd').read()", "open"),
        ("x = ().__class__.__bases__[0].__subclasses__()", "_"),
        ("x = eval('1+1')", "eval"),
    ],
)
def test_hostile_scripts_are_refused_at_their_element(tmp_path: Path, script: str, message: str) -> None:
    xml = two_lanes().replace("big = amount &gt;= 5000000", script.replace("'", "&apos;"))
    code, output = run(tmp_path, {"t.bpmn": xml, "approval.schema.json": FORM})
    assert code == 1
    lines = [line for line in output.splitlines() if ":calc:" in line]
    assert lines and message in lines[0], output


def test_references_that_do_not_resolve_are_listed(tmp_path: Path) -> None:
    xml = two_lanes().replace('value="approval.schema.json"', 'value="missing.schema.json"', 1)
    xml = xml.replace('name="市数管局项目科"', 'name="不存在的泳道"')
    code, output = run(tmp_path, {"t.bpmn": xml, "approval.schema.json": FORM})
    assert code == 1
    assert "t.bpmn:fill: 找不到表单文件 missing.schema.json" in output
    assert "不存在的泳道" in output


def test_a_missing_path_is_an_error_line(tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["validate", str(tmp_path / "nope.bpmn")])
    assert result.exit_code == 1 and "Traceback" not in result.output
    assert result.output.strip() == f"校验失败: 文件不存在: {tmp_path / 'nope.bpmn'}"  # no class names
    missing = CliRunner().invoke(main, ["scenario", "run", str(tmp_path / "nope.yaml")])
    assert missing.exit_code == 1 and "文件不存在" in missing.output  # exits as validate does


def test_an_embedded_subprocess_is_checked_and_its_forms_deployed_with_it(tmp_path) -> None:  # noqa: ANN001
    from processes import catalog, engine
    from tests.workflows import FORM, looped

    form = (
        '<bpmn:userTask id="file" name="填报"><bpmn:extensionElements><spiffworkflow:properties>'
        '<spiffworkflow:property name="formJsonSchemaFilename" value="approval.schema.json"/>'
        "</spiffworkflow:properties></bpmn:extensionElements>"
    )
    xml = looped().replace('<bpmn:userTask id="file" name="填报">', form)
    hostile = xml.replace(
        "<bpmn:script>year = year + 1</bpmn:script>", "<bpmn:script>import os</bpmn:script>"
    )
    files = {"l.bpmn": hostile.encode(), "approval.schema.json": FORM.encode()}
    problems = [str(p) for p in catalog.validate(files, {}, {"建设单位经办人"}).problems]
    assert problems == ["l.bpmn:next_year: 脚本: 第 1 行: 不允许导入模块 (import os)"]
    bundle, _ = engine.parse_bundle({"l.bpmn": xml.encode(), "approval.schema.json": FORM.encode()})
    assert "approval.schema.json" in catalog._files_of(bundle, "looped", {"approval.schema.json": {}})


def test_logins_name_the_address_the_server_listens_on() -> None:
    from click.testing import CliRunner

    from service.cli import main

    printed = CliRunner().invoke(main, ["logins", "--url", "http://127.0.0.1:8010"]).output
    assert "平台  http://127.0.0.1:8010" in printed and "API 文档: http://127.0.0.1:8010/api/docs" in printed
    assert "所有演示账号的密码: Egov@2026" in printed and ":8000" not in printed


def test_ids_and_names_longer_than_the_tables_hold_are_refused(tmp_path: Path) -> None:
    long_id = "p" * 150
    diagram = two_lanes(process_id=long_id).replace('name="审核申请"', f'name="{"审" * 201}"')
    code, output = run(tmp_path, {"a.bpmn": diagram, "approval.schema.json": FORM})
    assert code == 1
    assert f"{'p' * 60}…" in output and "流程 ID 过长(最多 100 个字符)" in output
    assert "review" in output and "名称过长(最多 200 个字符)" in output
    assert long_id not in output  # a line names the id, it does not repeat 150 characters of it


def test_a_form_nested_past_the_parser_is_a_problem_line(tmp_path: Path) -> None:
    deep = "[" * 5000 + "]" * 5000
    code, output = run(tmp_path, {"a.bpmn": two_lanes(), "approval.schema.json": deep})
    assert code == 1 and "approval.schema.json" in output and "表单嵌套层数过多" in output


@pytest.mark.parametrize(
    "due, refused",
    [
        ("P5D", ""),
        ("pt48h", ""),
        ("'P15D'", ""),
        ("'十天'", "办理期限无法识别: 十天"),
        ("5", "办理期限无法识别: 5"),
    ],
)
def test_a_due_period_is_a_bare_or_quoted_iso_duration(tmp_path: Path, due: str, refused: str) -> None:
    from tests.bpmn_builder import Process, end, start, user_task

    p = Process("due", "限期办理")
    p.add(start(), "建设单位经办人", "start")
    p.add(user_task("t", "办理", due=due), "建设单位经办人", "t")
    p.add(end(), "建设单位经办人", "end")
    p.chain("start", "t", "end")
    code, output = run(tmp_path, {"a.bpmn": p.xml()})
    assert (code, refused in output) == ((1, True) if refused else (0, True)), output


def test_the_command_speaks_chinese_in_its_help_and_its_errors() -> None:
    """Click's own words (usage, headings, errors) are Chinese too, not just our messages."""
    runner = CliRunner()
    helped = runner.invoke(main, ["migrate", "--help"])
    assert helped.exit_code == 0
    assert "用法:" in helped.output and "选项:" in helped.output and "只迁移该版本上的实例" in helped.output
    assert "显示此帮助并退出" in helped.output
    refused = runner.invoke(main, ["migrate", "lifecycle", "--to", "0"])
    assert refused.exit_code == 2
    assert "错误：'--to' 的取值无效" in refused.output and "查看帮助" in refused.output
    for english in ("Usage", "Options", "Show this message", "Error", "Invalid value", "Try '"):
        assert english not in helped.output + refused.output
    missing = runner.invoke(main, ["deploy"])
    assert missing.exit_code == 2 and "缺少参数" in missing.output


@pytest.mark.parametrize(
    ("condition", "message"),
    [
        ('decision = "PASS"', "语法错误"),  # an assignment, not a comparison: the admin meant ==
        ("__import__('os').system('id')", "_"),
    ],
)
def test_a_gateway_condition_that_cannot_run_is_refused_at_its_gateway(
    tmp_path: Path, condition: str, message: str
) -> None:
    xml = routed().replace("amount &gt;= 5000000", condition.replace('"', "&quot;").replace("'", "&apos;"))
    code, output = run(tmp_path, {"t.bpmn": xml, "approval.schema.json": FORM})
    assert code == 1
    lines = [line for line in output.splitlines() if ":route:" in line]
    assert lines and "条件" in lines[0] and message in lines[0], output
    assert "Traceback" not in output


def test_valid_gateway_conditions_pass(tmp_path: Path) -> None:
    code, output = run(tmp_path, {"t.bpmn": routed(), "approval.schema.json": FORM})
    assert code == 0, output


@pytest.mark.parametrize(
    ("cell", "message"),
    [(">> 5000000", "无法识别"), ("5,000,000", "只能写一个取值"), ("＜ 5000000", "无法识别")],
)
def test_a_decision_table_condition_the_engine_would_misread_is_refused(
    tmp_path: Path, cell: str, message: str
) -> None:
    """`>> 5` would run as a bit shift, `5,000,000` as a tuple: refused at the cell, not deployed."""
    files = repository_models()
    table = (BPMN_DIR / "route_by_amount.dmn").read_text(encoding="utf-8")
    files["route_by_amount.dmn"] = table.replace(
        "&lt; 5000000", cell.replace("<", "&lt;").replace(">", "&gt;")
    )
    code, output = run(tmp_path, files)
    assert code == 1
    assert (
        f"route_by_amount.dmn:route_by_amount_rule_1_in_1: 条件「{cell}」" in output and message in output
    ), output


def test_the_repository_decision_tables_pass(tmp_path: Path) -> None:
    files = repository_models()
    code, output = run(tmp_path, files)
    assert code == 0, output


@pytest.mark.parametrize(
    ("second_rule", "message"),
    [
        (">= 6000000", "「总投资概算（元）」5,000,000 至 6,000,000 之间的取值没有相符的规则"),
        ("> 5000000", "「总投资概算（元）」等于 5,000,000 的取值没有相符的规则"),
        (">= 4000000", "规则 route_by_amount_rule_1 与规则 route_by_amount_rule_2 的条件重叠"),
    ],
)
def test_a_threshold_table_with_a_gap_or_an_overlap_is_refused(
    tmp_path: Path, second_rule: str, message: str
) -> None:
    """Moving one rule of the 500万 table and not the other would leave amounts no rule answers."""
    files = repository_models()
    table = (BPMN_DIR / "route_by_amount.dmn").read_text(encoding="utf-8")
    files["route_by_amount.dmn"] = table.replace(">= 5000000", second_rule.replace(">", "&gt;"))
    code, output = run(tmp_path, files)
    assert code == 1
    assert f"route_by_amount.dmn:route_by_amount_table: {message}" in output, output
