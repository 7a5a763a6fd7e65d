"""The sandbox: what it refuses, what it bounds, and that ordinary BPMN scripts and DMN entries still work."""

import ast
import subprocess
import sys
import threading
import time
import timeit
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from SpiffWorkflow.dmn.engine.DMNEngine import DMNEngine

from processes.scripting import (
    DEFAULT_TIMEOUT,
    SandboxViolation,
    ScriptError,
    ScriptTimeout,
    check,
    evaluate,
    execute,
)

EXTRA = {"datetime": datetime, "timedelta": timedelta, "Decimal": Decimal}  # what engine.py passes
ROOT = Path(__file__).resolve().parents[2]


# ----------------------------------------------------------------------------- static check

ORDINARY_SCRIPT = """
total = 0
for row in rows:
    if row.get("amount", 0) > 0:
        total += row["amount"]
names = [r["name"].strip() for r in rows if r["name"]]
by_name = {n: len(n) for n in names}
def label(n):
    return f"{n}: {by_name[n]}"
labels = sorted(map(label, names), key=lambda s: -len(s))
try:
    ratio = total / len(rows)
except ZeroDivisionError:
    ratio = 0
i = 0
while i < 3:
    i += 1
del i
"""


def test_check_accepts_an_ordinary_script():
    assert check(ORDINARY_SCRIPT) == []
    assert check("amount >= 5000000 and status == '新建'", "eval") == []


@pytest.mark.parametrize(
    ("source", "problem"),
    [
        ("import os", "第 1 行: 不允许导入模块 (import os)"),
        ("x = 1\ny = 2\nfrom os import path", "第 3 行: 不允许导入模块 (from os import path)"),
        ("__import__('os')", "第 1 行: 不允许使用以下划线开头的名称 (__import__)"),
        (
            "().__class__.__bases__[0].__subclasses__()",
            "第 1 行: 不允许访问以下划线开头的属性 (.__subclasses__)",
        ),
        ("[c for c in ().__class__.__mro__]", "第 1 行: 不允许访问以下划线开头的属性 (.__mro__)"),
        ('f"{x.__class__}"', "第 1 行: 不允许访问以下划线开头的属性 (.__class__)"),
        ('f"{x:{y.__class__}}"', "第 1 行: 不允许访问以下划线开头的属性 (.__class__)"),
        ("(lambda: 1).__code__", "第 1 行: 不允许访问以下划线开头的属性 (.__code__)"),
        ("x._private", "第 1 行: 不允许访问以下划线开头的属性 (._private)"),
        ("_hidden = 1", "第 1 行: 不允许使用以下划线开头的名称 (_hidden)"),
        ("def f(__x):\n    return 1", "第 1 行: 不允许使用以下划线开头的名称 (__x)"),
        ("open('/etc/passwd')", "第 1 行: 不允许使用 open"),
        ("eval('1')", "第 1 行: 不允许使用 eval"),
        ("getattr(x, '__class__')", "第 1 行: 不允许使用 getattr"),
        ("type(x)", "第 1 行: 不允许使用 type"),
        ("(x for x in []).gi_frame", "第 1 行: 不允许访问属性 .gi_frame"),
        ("int.mro()", "第 1 行: 不允许访问属性 .mro"),
        ("global total", "第 1 行: 不允许 global 语句"),
        ("def f():\n    nonlocal y", "第 2 行: 不允许 nonlocal 语句"),
        ("def g():\n    yield 1", "第 2 行: 不允许 yield"),
        ("async def f():\n    pass", "第 1 行: 不允许异步语法 (async)"),
        ("class A:\n    pass", "第 1 行: 不允许定义类"),
        ("with x:\n    pass", "第 1 行: 不允许 with 语句"),
        ("match x:\n    case str(upper=f):\n        pass", "第 1 行: 不允许 match 语句"),
        ("d[f()] += 1", "第 1 行: 复合赋值的目标过于复杂 (d[f()]), 请改写为 x = x + ..."),
    ],
)
def test_check_refuses_forbidden_constructs(source: str, problem: str):
    assert problem in check(source)


@pytest.mark.parametrize(
    "name",
    ["open", "eval", "exec", "compile", "globals", "locals", "vars", "getattr", "setattr", "delattr", "input",
     "breakpoint", "help", "exit", "quit", "memoryview", "type", "object", "super", "classmethod",
     "staticmethod", "property"],
)  # fmt: skip
def test_check_refuses_each_dangerous_builtin_by_name(name: str):
    assert check(f"{name}", "eval") == [f"第 1 行: 不允许使用 {name}"]
    assert check(f"{name} = 1") == [f"第 1 行: 不允许使用 {name}"]


def test_check_reports_syntax_errors_with_their_line_instead_of_raising():
    assert check("x = 1\nif x\n    y = 2") == ["第 2 行: 语法错误 (expected ':')"]
    assert check("return 1") == ["第 1 行: 语法错误 ('return' outside function)"]  # only compile() sees it
    assert check("x = 1", "eval")[0].startswith("第 1 行: 语法错误")
    assert check("x = 1\x00") == ["语法错误 (source code string cannot contain null bytes)"]


def test_check_bounds_length_node_count_and_nesting():
    assert check("x = 1\n" * 4000) == ["脚本过长 (24000 个字符, 上限 20000)"]
    assert check("[" + "a," * 9999 + "]") == ["脚本过于复杂 (语法节点超过 10000 个)"]
    assert check("a" + "+a" * 150, "eval") == ["第 1 行: 嵌套层次过深 (超过 100 层)"]
    assert check("-" * 19_999 + "1", "eval") == ["脚本无法解析 (含空字符或嵌套过深)"]  # the parser gives up


def test_a_lone_underscore_is_an_ordinary_name():
    context: dict[str, Any] = {}
    execute("n = 0\nfor _ in range(3):\n    n += 1", context)
    assert context["n"] == 3


# ----------------------------------------------------------------------------- hostile input at run time


@pytest.mark.parametrize(
    "expression",
    [
        "__import__('os')",
        "().__class__.__bases__[0].__subclasses__()",
        "open('/etc/passwd').read()",
        "eval('1')",
        "getattr(x, '__class__')",
        "[c for c in ().__class__.__mro__]",
        'f"{x.__class__}"',
        "(lambda: 1).__code__",
        "__builtins__",
    ],
)
def test_evaluate_refuses_escapes_before_running_them(expression: str):
    with pytest.raises(SandboxViolation) as caught:
        evaluate(expression, {"x": 1})
    assert caught.value.line == 1
    assert caught.value.message.startswith("第 1 行: 不允许")


@pytest.mark.parametrize(
    "expression",
    [
        "'{0.__class__}'.format(1)",
        "'{0.real}'.format(1)",
        "'{0[0]}'.format([1])",
        "'{x.__class__}'.format_map({'x': 1})",
        "t.format(1)",
    ],
)
def test_str_format_cannot_walk_attributes(expression: str):
    with pytest.raises(SandboxViolation, match="格式化字段不允许访问属性或下标"):
        evaluate(expression, {"t": "{0.__class__.__base__}"})


def test_format_methods_cannot_be_taken_from_the_class():
    with pytest.raises(SandboxViolation, match=r"不支持 str\.format"):
        evaluate("str.format('{0.__class__}', 1)", {})


def test_names_outside_the_whitelist_are_undefined():
    for name in ("os", "sys", "dir", "id", "callable", "bytes", "BaseException"):
        with pytest.raises(ScriptError, match=f"未定义的变量: {name}"):
            evaluate(name, {})


def test_modules_are_refused_as_extra_names():
    import datetime as datetime_module  # its public `sys` attribute is a way out

    with pytest.raises(SandboxViolation, match=r"不允许向脚本传入模块 \(datetime\)"):
        evaluate("datetime.sys", {}, {"datetime": datetime_module})


def test_the_datetime_class_does_not_lead_to_its_module():
    with pytest.raises(ScriptError, match="AttributeError"):
        evaluate("datetime.sys", {}, EXTRA)


# ----------------------------------------------------------------------------- bounded time


def test_an_infinite_loop_ends_in_script_timeout_near_the_bound():
    started = time.monotonic()
    with pytest.raises(ScriptTimeout) as caught:
        execute("while True: pass", {}, timeout=0.2)
    assert time.monotonic() - started < 1.0
    assert caught.value.line == 1
    assert caught.value.message == "第 1 行: 运行超过 0.2 秒, 已终止 (是否有死循环?)"


def test_except_exception_does_not_catch_the_timeout():
    context: dict[str, Any] = {}
    script = "caught = False\ntry:\n    while True:\n        pass\nexcept Exception:\n    caught = True\n"
    with pytest.raises(ScriptTimeout):
        execute(script, context, timeout=0.2)
    assert context["caught"] is False


def test_swallowing_the_timeout_with_bare_except_still_times_out():
    script = "try:\n    while True:\n        pass\nexcept:\n    pass\nwhile True:\n    n = 1\n"
    with pytest.raises(ScriptTimeout) as caught:
        execute(script, {}, timeout=0.2)
    assert caught.value.line == 6  # the second loop's `while` line: the check runs there every iteration


def test_swallowing_the_timeout_and_finishing_is_still_a_timeout():
    context: dict[str, Any] = {}
    with pytest.raises(ScriptTimeout):
        execute("try:\n    while True:\n        pass\nexcept:\n    pass\ndone = True\n", context, timeout=0.2)


def test_expressions_are_bounded_too():
    with pytest.raises(ScriptTimeout):
        evaluate("sum(1 for _ in iter(int, 1))", {}, timeout=0.2)  # an endless C iterator
    with pytest.raises(ScriptTimeout):
        evaluate("[n for n in range(10**7) for m in range(10**7)]", {}, timeout=0.2)


def test_deep_recursion_is_a_script_error_not_a_crash():
    context: dict[str, Any] = {}
    with pytest.raises(ScriptError, match="递归层数过深") as caught:
        execute("f = lambda f: f(f)\nf(f)", context)
    assert isinstance(caught.value.__cause__, RecursionError)
    assert "f" not in context
    with pytest.raises(ScriptError, match="递归层数过深"):
        execute("def down(n):\n    return down(n + 1)\ndown(0)", {})


def test_a_list_grown_from_c_while_iterated_is_stopped():
    with pytest.raises(SandboxViolation, match="结果过长"):
        execute("xs = [1]\nany(map(xs.append, xs))", {}, timeout=30)


def test_extending_a_list_from_an_iterator_over_itself_terminates():
    context: dict[str, Any] = {}
    execute("xs = [1]\nxs.extend(map(abs, xs))\nys = [2]\nys += iter(ys)", context)
    assert context["xs"] == [1, 1]
    assert context["ys"] == [2, 2]


def test_the_tracer_of_the_caller_is_left_alone():
    before = sys.gettrace()
    with pytest.raises(ScriptTimeout):
        execute("while True:\n    pass", {}, timeout=0.05)
    assert sys.gettrace() is before


def test_each_thread_has_its_own_deadline():
    outcomes: list[str] = []

    def spin() -> None:
        try:
            execute("while True:\n    pass", {}, timeout=0.3)
        except ScriptTimeout:
            outcomes.append("timeout")

    threads = [threading.Thread(target=spin) for _ in range(2)]
    for thread in threads:
        thread.start()
    assert evaluate("sum(range(1000))", {}, timeout=5) == 499500  # not cut short by the others' deadlines
    for thread in threads:
        thread.join(timeout=10)
    assert outcomes == ["timeout", "timeout"]


# ----------------------------------------------------------------------------- bounded size


@pytest.mark.parametrize(
    ("expression", "problem"),
    [
        ("10**10**10", "整数结果过大"),
        ("pow(10, 10**9)", "整数结果过大"),
        ("1 << 10**9", "整数结果过大"),
        ("pow(3, 2**63 + 1, 3**600000)", "模幂运算量过大"),
        ("'a' * 10**10", "结果过长"),
        ("[0] * 10**9", "结果过长"),
        ("10**9 * (0,)", "结果过长"),
        ("list(range(10**12))", "range 过长"),
        ("range(10**8)", "range 过长"),
        ("'x'.ljust(10**9)", "结果过长"),
        ("'x'.zfill(10**9)", "结果过长"),
        ("'\\t'.expandtabs(10**9)", "结果过长"),
        ("('a' * 1000).replace('a', 'b' * 10000)", "结果过长"),
        ("'-'.join(['a' * 600000, 'b' * 600000])", "结果过长"),
        ("'aa'.translate({97: 'b' * 10**6})", "结果过长"),
        ("(1).to_bytes(10**9, 'big')", "结果过长"),
        ("f'{1:>1000000000}'", "格式说明中的宽度或精度过大"),
        ("f'{1.5:.1000000000f}'", "格式说明中的宽度或精度过大"),
        ("format(1, '>1000000000')", "格式说明中的宽度或精度过大"),
        ("'{:>1000000000}'.format(1)", "格式说明中的宽度或精度过大"),
        ("'{:{}}'.format(1, 10**9)", "格式说明中不允许嵌套字段"),
        ("'%*d' % (10**9, 1)", "格式化宽度或精度过大"),
        ("'%1000000000d' % 1", "格式化宽度或精度过大"),
        ("str.ljust('x', 10**9)", "不支持 str.ljust"),
        ("sum([[0]] * 10, [])", "sum 只能对数值求和"),
    ],
)
def test_operations_that_would_build_huge_values_are_refused(expression: str, problem: str):
    started = time.monotonic()
    with pytest.raises(SandboxViolation, match=problem) as caught:
        evaluate(expression, {})
    assert caught.value.line == 1
    assert time.monotonic() - started < 0.5  # refused up front, not after building it


def test_doubling_in_a_script_is_refused_at_the_line_that_does_it():
    with pytest.raises(SandboxViolation) as caught:
        execute("s = 'a' * 10**6\ns += s\n", {})
    assert caught.value.line == 2
    assert caught.value.message == "第 2 行: 结果过长 (2000000 个元素或字符, 上限 1000000)"
    with pytest.raises(SandboxViolation, match="结果过长"):
        execute("xs = [0] * 10**6\nxs *= 2\n", {})


def test_round_to_a_huge_negative_precision_answers_at_once():
    assert evaluate("round(5, -10**9)", {}) == 0
    assert evaluate("round(1234, -2)", {}) == 1200


# ----------------------------------------------------------------------------- legitimate use

CONTEXT = {
    "amount": 5_000_000,
    "a": 3,
    "b": 4,
    "items": [3, 1, 2],
    "limit": 1,
    "name": " 张三 ",
    "names": ["张三", "李四"],
    "d": {"k": 1},
    "rows": [{"amount": 2}, {"amount": 5}],
}


@pytest.mark.parametrize(
    ("expression", "expected"),
    [
        ("amount >= 5000000", True),
        ("amount < 5000000", False),
        ("a + b * 2 - 6 / 3", 9.0),
        ("(a, b) == (3, 4) and not a > b", True),
        ("2 ** 10 + 7 // 2 + 7 % 2", 1028),
        ("-3 ** 2", -9),
        ("2 ** 100000 > 10 ** 30000", True),
        ("[x * 2 for x in items if x > limit]", [6, 4]),
        ("{k: v + 1 for k, v in d.items()}", {"k": 2}),
        ("sorted(items, key=lambda i: -i)", [3, 2, 1]),
        ("sum(r['amount'] for r in rows)", 7),
        ("max(items) - min(items)", 2),
        ("name.strip().startswith('张')", True),
        ("d.get('missing', 0)", 0),
        ("', '.join(names)", "张三, 李四"),
        ("'a-b'.replace('-', '/')", "a/b"),
        ("'{:.2f} 万元'.format(amount / 10000)", "500.00 万元"),
        ("'{}/{}'.format(a, b)", "3/4"),
        ("f'{amount:,}元'", "5,000,000元"),
        ("f'{name!r:>8}'", "  ' 张三 '"),
        ("'%s-%05d' % ('P', 42)", "P-00042"),
        ("'%d%%' % 50", "50%"),
        ("round(2.675, 2)", 2.67),
        ("isinstance(amount, int) and isinstance(name, str)", True),
        ("divmod(7, 2)", (3, 1)),
        ("len(names) == 2 and '李四' in names", True),
        ("list(zip(names, range(2)))", [("张三", 0), ("李四", 1)]),
        ("[0] * 3 + [1]", [0, 0, 0, 1]),
        ("print('nothing to see')", None),
    ],
)
def test_evaluate_ordinary_expressions(expression: str, expected: Any):
    assert evaluate(expression, CONTEXT, EXTRA) == expected


def test_extra_names_such_as_datetime_and_decimal_work():
    context = {"start": datetime(2024, 1, 31), "deadline": datetime(2024, 3, 1)}
    assert evaluate("start + timedelta(days=1)", context, EXTRA) == datetime(2024, 2, 1)
    assert evaluate("(deadline - start).days", context, EXTRA) == 30
    assert evaluate("start.replace(day=1).strftime('%Y-%m-%d')", context, EXTRA) == "2024-01-01"
    assert evaluate("Decimal('0.1') + Decimal('0.2') == Decimal('0.3')", {}, EXTRA) is True
    assert evaluate("datetime(2024, 5, 1).year", {}, EXTRA) == 2024
    assert evaluate("datetime.strptime('2024-05-01', '%Y-%m-%d').month", {}, EXTRA) == 5  # imports _strptime


def test_task_data_wins_over_extra_names():
    assert evaluate("datetime", {"datetime": "任务数据"}, EXTRA) == "任务数据"
    assert evaluate("[datetime for _ in range(1)]", {"datetime": "任务数据"}, EXTRA) == ["任务数据"]


def test_an_undefined_name_is_named_in_chinese():
    with pytest.raises(ScriptError) as caught:
        evaluate("amuont > 1", {"amount": 1})
    assert caught.value.message == "第 1 行: 未定义的变量: amuont"
    assert caught.value.line == 1
    assert isinstance(caught.value.__cause__, NameError)


def test_evaluate_does_not_write_task_data():
    context = {"a": 1}
    assert evaluate("(b := a + 1) * 2", context) == 4
    assert context == {"a": 1}


def test_expressions_tolerate_the_whitespace_xml_puts_around_them():
    assert evaluate("\n    amount > 5\n  ", {"amount": 6}) is True
    assert check("\n\n  amount >\n", "eval") == ["第 3 行: 语法错误 (invalid syntax)"]


@pytest.mark.parametrize(
    "expression", ["map(abs, items)", "lambda: 1", "(x for x in items)", "iter(items)", "len"]
)
def test_an_expression_cannot_hand_back_code_to_run_outside_the_deadline(expression: str):
    with pytest.raises(SandboxViolation, match="表达式的结果必须是数据"):
        evaluate(expression, {"items": [1]})


def test_task_data_cannot_shadow_the_guards():
    with pytest.raises(SandboxViolation, match=r"任务数据中有保留名称 \(__sb_mul\)"):
        evaluate("a * 2", {"a": 1, "__sb_mul": 0})
    with pytest.raises(SandboxViolation, match="保留名称"):
        execute("while True:\n    pass", {"__sb_tick": None})


def test_print_is_silenced(capsys: pytest.CaptureFixture[str]):
    execute("print('hello')\nx = 1", {})
    assert capsys.readouterr().out == ""


def test_cached_condition_cost_is_printed():
    context = {"amount": 6_000_000}
    assert evaluate("amount >= 5000000", context, EXTRA) is True  # compiles and caches
    calls = 20_000
    seconds = timeit.timeit(lambda: evaluate("amount >= 5000000", context, EXTRA), number=calls)
    print(f"\ncached evaluate('amount >= 5000000'): {seconds / calls * 1e6:.2f} µs per call")


# ----------------------------------------------------------------------------- execute and task data


def test_execute_reads_and_writes_task_data_in_place():
    nested = [1]
    context: dict[str, Any] = {"a": 1, "project": {"amount": 0}, "counts": {"x": 1}, "nested": nested}
    script = """
b = a + 1
del a
project['amount'] = 5000000
counts['x'] += 1
nested += [2]
def double(n):
    return n * 2
c = double(b)
due = datetime(2024, 1, 1) + timedelta(days=c)
"""
    execute(script, context, EXTRA)
    assert context == {
        "project": {"amount": 5000000},
        "counts": {"x": 2},
        "nested": [1, 2],
        "b": 2,
        "c": 4,
        "due": datetime(2024, 1, 5),
    }
    assert context["nested"] is nested  # += on a list stays in place, as in plain Python


def test_execute_removes_extra_names_even_when_the_script_rebinds_them():
    context: dict[str, Any] = {}
    execute("timedelta = 1\nf = lambda: 1\nkept = 2", context, EXTRA)
    assert context == {"kept": 2}


def test_execute_keeps_task_data_that_shares_a_name_with_extra():
    context: dict[str, Any] = {"datetime": "任务数据"}
    execute("copy = datetime", context, EXTRA)
    assert context == {"datetime": "任务数据", "copy": "任务数据"}


def test_a_refused_script_leaves_task_data_untouched():
    context: dict[str, Any] = {"a": 1}
    with pytest.raises(SandboxViolation) as caught:
        execute("x = 1\nimport os", context, EXTRA)
    assert caught.value.line == 2
    assert context == {"a": 1}


def test_a_failing_script_reports_its_line_and_cause_and_still_cleans_up():
    context: dict[str, Any] = {}
    with pytest.raises(ScriptError) as caught:
        execute("a = 1\nb = 0\nc = a / b\n", context, EXTRA)
    assert caught.value.line == 3
    assert caught.value.message == "第 3 行: ZeroDivisionError: division by zero"
    assert isinstance(caught.value.__cause__, ZeroDivisionError)
    assert context == {"a": 1, "b": 0}


def test_scripts_may_raise_and_catch_ordinary_errors():
    context: dict[str, Any] = {"d": {}}
    execute("try:\n    x = d['missing']\nexcept KeyError:\n    x = 0", context)
    assert context["x"] == 0
    with pytest.raises(ScriptError, match="ValueError: 金额无效") as caught:
        execute("raise ValueError('金额无效')", {})
    assert isinstance(caught.value.__cause__, ValueError)


@pytest.mark.parametrize(
    "expression",
    ["1/0", "[][1]", "{}['k']", "int('x')", "None + 1", "'a' < 1", "next(iter([]))", "chr(-1)",
     "2.0 ** 10000", "Decimal(1) / Decimal(0)", "sorted([1, 'a'])", "datetime(2024, 13, 1)", "x.nope",
     "(1).append"],
)  # fmt: skip
def test_no_raw_exception_escapes(expression: str):
    with pytest.raises(ScriptError):
        evaluate(expression, {"x": 1}, EXTRA)


def test_non_text_source_is_a_violation_not_a_crash():
    with pytest.raises(SandboxViolation, match="脚本内容必须是文本"):
        evaluate(None, {})  # type: ignore[arg-type]


def test_the_default_timeout_is_one_second():
    assert DEFAULT_TIMEOUT == 1.0


def test_scripting_does_not_import_spiffworkflow():
    probe = "import sys, processes.scripting; print(any(m.startswith('SpiffWorkflow') for m in sys.modules))"
    result = subprocess.run(
        [sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "False"


# ----------------------------------------------------------------------------- DMN


@pytest.mark.parametrize(
    ("expression", "context", "extra", "expected"),
    [
        # DMNEngine.evaluate: an entry that parses on its own becomes `(input) == (entry)`
        ('(status) == ("新建")', {"status": "新建"}, None, True),
        ("(amount) == (5000000)", {"amount": 5_000_000}, None, True),
        ("(integrated) == (True)", {"integrated": False}, None, False),
        # ...an entry that only parses after a left operand is appended with no space: `input + entry`
        ("amount< 5000000", {"amount": 4_999_999}, None, True),
        ("amount>= 5000000", {"amount": 4_999_999}, None, False),
        ("project['amount']< 5000000", {"project": {"amount": 1}}, None, True),
        ("amount<= 5000000", {"amount": 5_000_000}, None, True),
        # ...an entry with `?` is evaluated with the input's value passed in external_context
        ("5000000 <= dmninputexpr < 10000000", {}, {"dmninputexpr": 6_000_000}, True),
        ('dmninputexpr in ("新建", "退回")', {}, {"dmninputexpr": "退回"}, True),
        # output entries are plain expressions
        ('"市数管局"', {}, None, "市数管局"),
        ("amount * 2", {"amount": 3}, None, 6),
    ],
)
def test_the_strings_dmnengine_builds_pass_and_evaluate(
    expression: str, context: dict[str, Any], extra: dict[str, Any] | None, expected: Any
):
    assert check(expression, "eval") == []
    assert evaluate(expression, context, {**EXTRA, **(extra or {})}) == expected


class SandboxScriptEngine:
    """The two calls DMNEngine makes on a script engine, answered by the sandbox as engine.py does."""

    def __init__(self) -> None:
        self.seen: list[str] = []

    def validate(self, expression: str) -> None:
        ast.parse(expression)  # DMNEngine.needs_eq relies on SyntaxError here

    def evaluate(self, task: Any, expression: str, external_context: dict[str, Any] | None = None) -> Any:
        self.seen.append(expression)
        return evaluate(expression, task.data, {**EXTRA, **(external_context or {})})


@pytest.mark.parametrize(
    ("input_expression", "entry", "data", "expected"),
    [
        ("amount", "< 5000000", {"amount": 4_999_999}, True),
        ("amount", ">= 5000000", {"amount": 4_999_999}, False),
        ("amount", "5000000", {"amount": 5_000_000}, True),
        ("project['amount']", ">= 5000000", {"project": {"amount": 5_000_000}}, True),
        ("status", '"新建"', {"status": "新建"}, True),
        ("status", '"新建"', {"status": "退回"}, False),
        ("amount", "5000000 <= ? < 10000000", {"amount": 9_999_999}, True),
        ("amount", "5000000 <= ? < 10000000", {"amount": 10_000_000}, False),
        ("status", '? in ("新建", "退回")', {"status": "退回"}, True),
        ("integrated and shared", "True", {"integrated": True, "shared": False}, False),
        ("amount", None, {"amount": 1}, True),  # '-' or empty: the parser stores None, which always matches
    ],
)
def test_dmnengine_decides_through_the_sandbox(
    input_expression: str, entry: str | None, data: dict[str, Any], expected: bool
):
    engine = SandboxScriptEngine()
    task = SimpleNamespace(data=data, workflow=SimpleNamespace(script_engine=engine))
    assert DMNEngine(decision_table=None).evaluate(input_expression, entry, task) is expected
    assert all(check(expression, "eval") == [] for expression in engine.seen)


MEMORY_BOMBS = [
    "x = [[0] * 10**4 for i in range(10**5)]",  # 8 GB of small lists, each within MAX_SEQUENCE
    "x = []\nfor i in range(10**4):\n    x.append('a' * 10**6)",  # 10 GB, one big string per turn
    "x = {i: [0] * 1000 for i in range(10**6)}",
]


def test_loops_that_would_fill_the_memory_are_stopped_near_the_memory_bound():
    # In a fresh interpreter, so the peak resident set measures the scripts and not the test session.
    program = (
        "import resource, sys\n"
        "from processes.scripting import MAX_MEMORY, ScriptError, execute\n"
        "for source in sys.argv[1:]:\n"
        "    try:\n"
        "        execute(source, {}, timeout=20.0)\n"
        "        print('ran')\n"
        "    except ScriptError as err:\n"
        "        print(err.message)\n"
        "peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024\n"
        "print(peak // 2**20, MAX_MEMORY // 2**20)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", program, *MEMORY_BOMBS], cwd=ROOT, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    *messages, sizes = done.stdout.splitlines()
    assert messages == [
        "第 1 行: 占用内存过多 (上限 256 MB), 已终止",
        "第 3 行: 占用内存过多 (上限 256 MB), 已终止",
        "第 1 行: 占用内存过多 (上限 256 MB), 已终止",
    ]
    peak_mb, bound_mb = map(int, sizes.split())
    assert peak_mb < bound_mb + 200  # the interpreter itself, plus at most one check interval's growth


def test_a_loop_building_a_moderate_structure_runs():
    context: dict[str, Any] = {}
    script = "rows = [{'id': i, 'name': '项目' + str(i)} for i in range(20000)]\ntotal = len(rows)"
    # The memory guard lets it through; the generous time bound keeps a loaded machine from failing it.
    execute(script, context, timeout=30)
    assert context["total"] == 20000
