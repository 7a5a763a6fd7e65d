"""Run BPMN scripts and expressions in a sandbox: no imports, no dunder walks, bounded time and size.

Every script task, gateway condition, timer, service parameter, pre/post script and DMN entry runs here.
The defence has three layers, each because the one before it is not enough on its own:

1. A static check of the syntax tree refuses imports, names and attributes starting with `_`, dangerous
   builtins, classes, `with`, `global`, generators and the like. Scripts see only whitelisted builtins.
2. The tree is rewritten before compiling: every loop iteration, function call, lambda and comprehension
   step calls a deadline check, and `+ * ** << %`, f-string format specs and a few methods (`str.join`,
   `str.format`, `list.append`...) go through guards that refuse results too large to build.
   Why not `sys.settrace`: on Python 3.11 `while True: pass` emits no line events after the first, and a
   tracer that raises is switched off for good, so a script that catches the first timeout runs forever.
3. The deadline exception derives from BaseException, so `except Exception` in a script does not catch
   it; a bare `except:` may, but the next check raises again and the run still ends in ScriptTimeout.

What it cannot do is bound memory and CPU inside one C call built from values that are each within the
limits (for example `str()` of a list holding the same million-element list a million times). Hard limits
need a separate process with rlimits.
"""

import ast
import builtins
import copy
import functools
import math
import os
import re
import string
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from types import CodeType, ModuleType
from typing import Any

DEFAULT_TIMEOUT: float = 1.0
MAX_SOURCE_CHARS = 20_000
MAX_NODES = 10_000
MAX_DEPTH = 100  # the rewriter recurses about three Python frames per level
MAX_SEQUENCE = 1_000_000  # characters or elements one operation may produce
MAX_INT_BITS = 1_000_000  # dividing two such ints already takes ~0.4 s in one uninterruptible C call
MAX_RANGE = 10_000_000
MAX_MEMORY = 256 * 1024 * 1024  # bytes a run's loops may add to the process (resident set), see _tick
_MEMORY_EVERY = 1024  # loop iterations between two looks at the resident set
_FILENAME = "<bpmn-script>"


class ScriptError(Exception):
    """A script or expression could not run; `message` is shown to process admins."""

    def __init__(self, message: str, line: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.line = line


class SandboxViolation(ScriptError):
    """The script uses a construct the sandbox forbids, found statically or at run time."""


class ScriptTimeout(ScriptError):
    """The script ran longer than its time bound."""


# ----------------------------------------------------------------------------- static check

_FORBIDDEN_NAMES = frozenset(
    {
        "open", "eval", "exec", "compile", "__import__", "globals", "locals", "vars", "getattr", "setattr",
        "delattr", "input", "breakpoint", "help", "exit", "quit", "memoryview", "type", "object", "super",
        "classmethod", "staticmethod", "property",
    }
)  # fmt: skip
_FORBIDDEN_NODES: dict[type[ast.AST], str] = {
    ast.Import: "不允许导入模块",
    ast.ImportFrom: "不允许导入模块",
    ast.Global: "不允许 global 语句",
    ast.Nonlocal: "不允许 nonlocal 语句",
    ast.AsyncFunctionDef: "不允许异步语法 (async)",
    ast.AsyncFor: "不允许异步语法 (async for)",
    ast.AsyncWith: "不允许异步语法 (async with)",
    ast.Await: "不允许异步语法 (await)",
    ast.Yield: "不允许 yield",
    ast.YieldFrom: "不允许 yield from",
    ast.ClassDef: "不允许定义类",
    ast.With: "不允许 with 语句",
    ast.Match: "不允许 match 语句",  # class patterns read attributes without an Attribute node
    ast.TryStar: "不允许 except* 语句",
}
# Frames, code objects and the class hierarchy, reachable without underscores from generators and types.
_BLOCKED_ATTRIBUTES = frozenset({"mro"})
_BLOCKED_PREFIXES = ("gi_", "cr_", "ag_", "f_", "tb_", "co_")
# Comprehensions and lambdas look names up as globals, so evaluate() must merge the context into them.
_NEW_SCOPES = (ast.Lambda, ast.ListComp, ast.SetComp, ast.DictComp, ast.GeneratorExp, ast.NamedExpr)


@dataclass(frozen=True)
class _Program:
    code: CodeType | None
    problems: tuple[tuple[int | None, str], ...]
    isolated: bool  # needs the context merged into globals (see _NEW_SCOPES)
    helpers: frozenset[str] = frozenset()  # the guard names the rewritten code looks up


def check(source: str, mode: str = "exec") -> list[str]:
    """Return the static problems of `source` (mode 'exec' for scripts, 'eval' for expressions); [] when it may run."""  # noqa: E501
    return [_located(line, text) for line, text in _program(source, mode).problems]


def _program(source: str, mode: str) -> _Program:
    if mode not in ("exec", "eval"):
        raise ValueError(f"mode must be 'exec' or 'eval', not {mode!r}")
    if not isinstance(source, str):
        return _Program(None, ((None, "脚本内容必须是文本"),), False)
    return _compile(source, mode)


@functools.lru_cache(maxsize=1024)
def _compile(source: str, mode: str) -> _Program:
    problems, tree, isolated = _analyse(source, mode)
    if problems or tree is None:
        return _Program(None, tuple(problems), isolated)
    try:
        tree = ast.fix_missing_locations(_Instrument().visit(tree))
        code = compile(tree, _FILENAME, mode, dont_inherit=True)
    except SyntaxError as err:  # ast.parse accepts a few things only the compiler refuses: top-level return
        return _Program(None, ((err.lineno, f"语法错误 ({err.msg})"),), isolated)
    except (RecursionError, MemoryError):
        return _Program(None, ((None, "脚本过于复杂, 无法编译"),), isolated)
    helpers = {n.id for n in ast.walk(tree) if isinstance(n, ast.Name) and n.id.startswith("__sb_")}
    return _Program(code, (), isolated, frozenset(helpers))


def _analyse(source: str, mode: str) -> tuple[list[tuple[int | None, str]], ast.AST | None, bool]:
    if len(source) > MAX_SOURCE_CHARS:
        return [(None, f"脚本过长 ({len(source)} 个字符, 上限 {MAX_SOURCE_CHARS})")], None, False
    offset = 0
    if mode == "eval":  # eval() forgives leading spaces, and XML text often has newlines around it
        offset = source[: len(source) - len(source.lstrip())].count("\n")
        source = source.strip()
    try:
        tree = ast.increment_lineno(ast.parse(source, _FILENAME, mode), offset)
    except SyntaxError as err:
        return [(err.lineno and err.lineno + offset, f"语法错误 ({err.msg})")], None, False
    except (ValueError, RecursionError, MemoryError):  # a NUL byte, or nesting deeper than the parser allows
        return [(None, "脚本无法解析 (含空字符或嵌套过深)")], None, False
    problems: set[tuple[int | None, str]] = set()
    isolated = False
    stack: list[tuple[ast.AST, int, int | None]] = [(tree, 0, None)]
    count = 0
    try:
        while stack:
            node, depth, line = stack.pop()
            line = getattr(node, "lineno", line)
            count += 1
            if count > MAX_NODES:
                problems.add((None, f"脚本过于复杂 (语法节点超过 {MAX_NODES} 个)"))
                break
            if depth > MAX_DEPTH:
                problems.add((line, f"嵌套层次过深 (超过 {MAX_DEPTH} 层)"))
                break
            if (problem := _problem(node)) is not None:
                problems.add((line, problem))
            isolated = isolated or isinstance(node, _NEW_SCOPES)
            stack.extend((child, depth + 1, line) for child in ast.iter_child_nodes(node) if _counted(child))
    except RecursionError:  # _pure() on an absurdly deep augmented-assignment target
        problems.add((None, f"嵌套层次过深 (超过 {MAX_DEPTH} 层)"))
    return sorted(problems, key=lambda p: (p[0] or 0, p[1])), tree, isolated


def _counted(node: ast.AST) -> bool:
    return not isinstance(node, ast.expr_context | ast.operator | ast.boolop | ast.cmpop | ast.unaryop)


def _problem(node: ast.AST) -> str | None:
    if (text := _FORBIDDEN_NODES.get(type(node))) is not None:
        return f"{text} ({_snippet(node)})" if isinstance(node, ast.Import | ast.ImportFrom) else text
    if isinstance(node, ast.Name):
        return _name_problem(node.id)
    if isinstance(node, ast.arg):
        return _name_problem(node.arg)
    if isinstance(node, ast.FunctionDef | ast.ExceptHandler) and node.name:
        return _name_problem(node.name)
    if isinstance(node, ast.Attribute):
        if node.attr.startswith("_"):
            return f"不允许访问以下划线开头的属性 (.{node.attr})"
        if node.attr in _BLOCKED_ATTRIBUTES or node.attr.startswith(_BLOCKED_PREFIXES):
            return f"不允许访问属性 .{node.attr}"
    if isinstance(node, ast.AugAssign) and type(node.op) in _AUG_GUARDS and not _pure(node.target):
        # The rewrite reads the target twice; with a call in it the call would run twice.
        symbol = _OPERATORS[type(node.op)]
        return f"复合赋值的目标过于复杂 ({_snippet(node.target)}), 请改写为 x = x {symbol} ..."
    return None


def _name_problem(name: str) -> str | None:
    if name.startswith("_") and name != "_":  # a lone `_` is the usual throwaway loop variable
        return f"不允许使用以下划线开头的名称 ({name})"
    if name in _FORBIDDEN_NAMES:
        return f"不允许使用 {name}"
    return None


def _pure(node: ast.AST) -> bool:
    if isinstance(node, ast.Name | ast.Constant):
        return True
    if isinstance(node, ast.Attribute | ast.UnaryOp):
        return _pure(node.value if isinstance(node, ast.Attribute) else node.operand)
    if isinstance(node, ast.Subscript):
        return _pure(node.value) and _pure(node.slice)
    if isinstance(node, ast.Slice):
        return all(part is None or _pure(part) for part in (node.lower, node.upper, node.step))
    if isinstance(node, ast.Tuple):
        return all(_pure(element) for element in node.elts)
    return False


def _snippet(node: ast.AST) -> str:
    text = ast.unparse(node)
    return text if len(text) <= 60 else text[:57] + "..."


def _located(line: int | None, text: str) -> str:
    return f"第 {line} 行: {text}" if line else text


# ----------------------------------------------------------------------------- rewriting

_BINOP_GUARDS = {ast.Add: "__sb_add", ast.Mult: "__sb_mul", ast.Pow: "__sb_pow", ast.LShift: "__sb_lshift",
                 ast.Mod: "__sb_mod"}  # fmt: skip
_AUG_GUARDS = {ast.Add: "__sb_iadd", ast.Mult: "__sb_imul", ast.Pow: "__sb_pow", ast.LShift: "__sb_lshift",
               ast.Mod: "__sb_mod"}  # fmt: skip
_OPERATORS = {ast.Add: "+", ast.Mult: "*", ast.Pow: "**", ast.LShift: "<<", ast.Mod: "%"}


def _call(name: str, args: list[ast.expr], where: ast.AST) -> ast.Call:
    return ast.copy_location(ast.Call(ast.Name(name, ast.Load()), args, []), where)


class _Instrument(ast.NodeTransformer):
    """Insert deadline checks and route size-amplifying operations through guards."""

    def visit_BinOp(self, node: ast.BinOp) -> ast.expr:
        self.generic_visit(node)
        guard = _BINOP_GUARDS.get(type(node.op))
        return node if guard is None else _call(guard, [node.left, node.right], node)

    def visit_AugAssign(self, node: ast.AugAssign) -> ast.stmt:
        self.generic_visit(node)
        guard = _AUG_GUARDS.get(type(node.op))
        if guard is None:
            return node
        current = copy.deepcopy(node.target)
        current.ctx = ast.Load()
        value = _call(guard, [self.visit(current), node.value], node)
        return ast.copy_location(ast.Assign([node.target], value), node)

    def visit_Attribute(self, node: ast.Attribute) -> ast.expr:
        self.generic_visit(node)
        if isinstance(node.ctx, ast.Load) and node.attr in _GUARDED_METHODS:
            return _call("__sb_attr", [node.value, ast.Constant(node.attr)], node)
        return node

    def visit_FormattedValue(self, node: ast.FormattedValue) -> ast.FormattedValue:
        self.generic_visit(node)
        if node.format_spec is not None:  # f"{x:>1000000000}" would build a gigabyte in one C call
            args = [node.value, node.format_spec, ast.Constant(node.conversion)]
            node.value = _call("__sb_fstring", args, node)
            node.conversion, node.format_spec = -1, None
        return node

    def visit_Lambda(self, node: ast.Lambda) -> ast.Lambda:
        self.generic_visit(node)
        node.body = ast.copy_location(ast.BoolOp(ast.And(), [_call("__sb_tick", [], node), node.body]), node)
        return node

    def visit_comprehension(self, node: ast.comprehension) -> ast.comprehension:
        self.generic_visit(node)
        node.ifs.insert(0, _call("__sb_tick", [], node.target))
        return node

    def _tick_first(self, node: ast.For | ast.While | ast.FunctionDef) -> ast.stmt:
        self.generic_visit(node)
        node.body.insert(0, ast.copy_location(ast.Expr(_call("__sb_tick", [], node)), node))
        return node

    visit_For = visit_While = visit_FunctionDef = _tick_first


# ----------------------------------------------------------------------------- run-time guards


class _Deadline(BaseException):
    """Time is up; a BaseException so that `except Exception` in a script lets it through."""


class _Clock(threading.local):
    deadline: float = math.inf
    expired: bool = False
    ticks: int = 0
    grown: int = 0  # elements or characters guarded operations produced since the last memory check
    memory_limit: float = math.inf  # resident bytes at this run's first memory check plus MAX_MEMORY


_clock = _Clock()
_monotonic = time.monotonic
_SEQUENCES = (str, bytes, list, tuple)


def _tick() -> bool:
    if _monotonic() > _clock.deadline:
        _clock.expired = True
        raise _Deadline
    _clock.ticks += 1
    if _clock.ticks % _MEMORY_EVERY == 1:
        _check_memory()
    return True


def _check_memory() -> None:
    """Refuse a run that grew the process's resident set by more than MAX_MEMORY.

    Each operation is bounded (MAX_SEQUENCE), but a loop can repeat one until the machine runs out of
    memory well within the time bound ([[0] * 10**4 for i in range(10**5)] is 8 GB). So the resident set
    is read at a run's first loop iteration or large result, then every _MEMORY_EVERY iterations and
    whenever guarded operations have produced another MAX_SEQUENCE elements.
    """
    _clock.grown = 0
    resident = _resident_bytes()
    if _clock.memory_limit == math.inf:
        _clock.memory_limit = resident + MAX_MEMORY
    elif resident > _clock.memory_limit:
        raise SandboxViolation(f"占用内存过多 (上限 {MAX_MEMORY // 2**20} MB), 已终止")


_PAGE_SIZE = os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 4096


def _resident_bytes() -> int:
    """The process's resident set in bytes (Linux); 0 where it cannot be read, which disables the check."""
    try:
        with open("/proc/self/statm", "rb") as statm:
            return int(statm.read().split()[1]) * _PAGE_SIZE
    except (OSError, ValueError, IndexError):
        return 0


def _check_length(size: int) -> None:
    if size > MAX_SEQUENCE:
        raise SandboxViolation(f"结果过长 ({size} 个元素或字符, 上限 {MAX_SEQUENCE})")
    _clock.grown += size
    if _clock.grown > MAX_SEQUENCE:
        _check_memory()


def _check_bits(bits: int) -> None:
    if bits > MAX_INT_BITS:
        raise SandboxViolation(f"整数结果过大 (约 {bits} 位, 上限 {MAX_INT_BITS} 位)")


def _bounded_list(items: Iterable[Any], room: int) -> list[Any]:
    # Materialise first: extending a list from a lazy iterator over itself never ends, in C.
    out: list[Any] = []
    for item in items:
        if len(out) >= room:
            raise SandboxViolation(f"结果过长 (上限 {MAX_SEQUENCE} 个元素)")
        out.append(item)
    return out


def _add(left: Any, right: Any) -> Any:
    if isinstance(left, _SEQUENCES) and isinstance(right, _SEQUENCES):
        _check_length(len(left) + len(right))
    return left + right


def _iadd(left: Any, right: Any) -> Any:
    if isinstance(left, list) and not isinstance(right, _SEQUENCES):
        right = _bounded_list(right, MAX_SEQUENCE - len(left))
    if isinstance(left, _SEQUENCES) and isinstance(right, _SEQUENCES):
        _check_length(len(left) + len(right))
    left += right  # in place for lists, as the script wrote it
    return left


def _check_product(left: Any, right: Any) -> None:
    if isinstance(left, int) and isinstance(right, int):
        _check_bits(left.bit_length() + right.bit_length())
    elif isinstance(left, _SEQUENCES) and isinstance(right, int):
        _check_length(len(left) * right)
    elif isinstance(left, int) and isinstance(right, _SEQUENCES):
        _check_length(left * len(right))


def _mul(left: Any, right: Any) -> Any:
    _check_product(left, right)
    return left * right


def _imul(left: Any, right: Any) -> Any:
    _check_product(left, right)
    left *= right
    return left


def _pow(base: Any, exponent: Any, modulus: Any = None) -> Any:
    if isinstance(base, int) and isinstance(exponent, int) and exponent > 0:
        if modulus is None and abs(base) > 1:
            _check_bits(exponent if exponent > MAX_INT_BITS else math.ceil(exponent * math.log2(abs(base))))
        elif isinstance(modulus, int) and exponent.bit_length() * modulus.bit_length() > MAX_INT_BITS:
            # pow(b, 2**63, <million-bit modulus>) takes minutes in one C call
            raise SandboxViolation("模幂运算量过大")
    return pow(base, exponent) if modulus is None else pow(base, exponent, modulus)


def _lshift(left: Any, right: Any) -> Any:
    if isinstance(left, int) and isinstance(right, int) and left and right > 0:
        _check_bits(left.bit_length() + right)
    return left << right


_PRINTF_FIELD = re.compile(r"%(?:\([^)]*\))?[-#0 +]*(\*|\d+)?(?:\.(\*|\d+))?[hlL]?[diouxXeEfFgGcrsab%]")


def _mod(left: Any, right: Any) -> Any:
    if isinstance(left, str | bytes):  # printf-style formatting: '%*d' % (10**9, 1)
        template = left if isinstance(left, str) else left.decode("latin-1")
        for width, precision in _PRINTF_FIELD.findall(template):
            if "*" in (width, precision) or _too_wide(width) or _too_wide(precision):
                raise SandboxViolation("格式化宽度或精度过大 (不支持 * 宽度)")
    return left % right


def _too_wide(digits: str) -> bool:
    return len(digits) > 7 or (digits != "" and int(digits) > MAX_SEQUENCE)


def _check_spec(spec: Any) -> None:
    if isinstance(spec, str) and any(_too_wide(digits) for digits in re.findall(r"\d+", spec)):
        raise SandboxViolation(f"格式说明中的宽度或精度过大 ({spec[:40]})")


def _format(value: Any, spec: str = "") -> str:
    _check_spec(spec)
    return format(value, spec)


_CONVERSIONS: dict[int, Callable[[Any], str]] = {ord("s"): str, ord("r"): repr, ord("a"): ascii}


def _fstring(value: Any, spec: str, conversion: int) -> str:
    if conversion in _CONVERSIONS:
        value = _CONVERSIONS[conversion](value)
    return _format(value, spec)


_FORMATTER = string.Formatter()


def _check_template(template: str) -> None:
    # '{0.__class__}'.format(x) walks attributes inside the format mini-language, out of the checker's sight.
    for _literal, field, spec, _conversion in _FORMATTER.parse(template):
        if field is None:
            continue
        if "." in field or "[" in field:
            raise SandboxViolation(f"格式化字段不允许访问属性或下标 ({{{field}}})")
        if spec and "{" in spec:
            raise SandboxViolation("格式说明中不允许嵌套字段")
        _check_spec(spec)


def _guard_format(text: str, method: Callable[..., Any]) -> Callable[..., Any]:
    def formatted(*args: Any, **kwargs: Any) -> Any:
        _check_template(text)
        return method(*args, **kwargs)

    return formatted


def _guard_pad(text: Any, method: Callable[..., Any]) -> Callable[..., Any]:
    def padded(width: Any, *args: Any) -> Any:
        if isinstance(width, int):
            _check_length(width)
        return method(width, *args)

    return padded


def _guard_expandtabs(text: Any, method: Callable[..., Any]) -> Callable[..., Any]:
    def expandtabs(tabsize: Any = 8) -> Any:
        if isinstance(tabsize, int):
            _check_length(len(text) + text.count("\t" if isinstance(text, str) else b"\t") * tabsize)
        return method(tabsize)

    return expandtabs


def _guard_replace(text: Any, method: Callable[..., Any]) -> Callable[..., Any]:
    def replace(old: Any, new: Any, count: Any = -1) -> Any:
        if isinstance(old, str | bytes) and isinstance(new, str | bytes) and len(new) > len(old):
            hits = text.count(old) if old else len(text) + 1
            if isinstance(count, int) and count >= 0:
                hits = min(hits, count)
            _check_length(len(text) + hits * (len(new) - len(old)))
        return method(old, new, count)

    return replace


def _guard_join(text: Any, method: Callable[..., Any]) -> Callable[..., Any]:
    def join(items: Iterable[Any]) -> Any:
        parts = _bounded_list(items, MAX_SEQUENCE)
        sizes = sum(len(part) for part in parts if isinstance(part, str | bytes))
        _check_length(sizes + len(text) * max(len(parts) - 1, 0))
        return method(parts)

    return join


def _guard_translate(text: Any, method: Callable[..., Any]) -> Callable[..., Any]:
    def translate(table: Any) -> Any:
        if isinstance(text, str):
            if not isinstance(table, dict):
                raise SandboxViolation("translate 只接受 str.maketrans 生成的字典")
            longest = max((len(v) for v in table.values() if isinstance(v, str)), default=1)
            _check_length(len(text) * longest)
        return method(table)

    return translate


def _guard_to_bytes(number: Any, method: Callable[..., Any]) -> Callable[..., Any]:
    def to_bytes(length: Any = 1, byteorder: Any = "big", *, signed: bool = False) -> Any:
        if isinstance(length, int):
            _check_length(length)
        return method(length, byteorder, signed=signed)

    return to_bytes


def _guard_append(items: list[Any], method: Callable[..., Any]) -> Callable[..., Any]:
    # The tick matters: any(map(xs.append, xs)) grows xs forever inside C, calling only this wrapper.
    def append(item: Any) -> None:
        _tick()
        _check_length(len(items) + 1)
        method(item)

    return append


def _guard_insert(items: list[Any], method: Callable[..., Any]) -> Callable[..., Any]:
    def insert(index: Any, item: Any) -> None:
        _tick()
        _check_length(len(items) + 1)
        method(index, item)

    return insert


def _guard_extend(items: list[Any], method: Callable[..., Any]) -> Callable[..., Any]:
    def extend(more: Iterable[Any]) -> None:
        _tick()
        if not isinstance(more, _SEQUENCES):
            more = _bounded_list(more, MAX_SEQUENCE - len(items))
        _check_length(len(items) + len(more))
        method(more)

    return extend


_TEXT_GUARDS = {
    "format": _guard_format, "format_map": _guard_format, "ljust": _guard_pad, "rjust": _guard_pad,
    "center": _guard_pad, "zfill": _guard_pad, "expandtabs": _guard_expandtabs, "replace": _guard_replace,
    "join": _guard_join, "translate": _guard_translate,
}  # fmt: skip
_LIST_GUARDS = {"append": _guard_append, "insert": _guard_insert, "extend": _guard_extend}
_GUARDED_METHODS = frozenset({*_TEXT_GUARDS, *_LIST_GUARDS, "to_bytes"})
_GUARDED_TYPES = (str, bytes, list, int)


def _attr(obj: Any, name: str) -> Any:
    value = getattr(obj, name)
    if isinstance(obj, type) and issubclass(obj, _GUARDED_TYPES):
        raise SandboxViolation(f"请在值上直接调用 .{name}() (不支持 {obj.__name__}.{name})")
    if isinstance(obj, str | bytes):
        guard = _TEXT_GUARDS.get(name)
    elif isinstance(obj, list):
        guard = _LIST_GUARDS.get(name)
    elif isinstance(obj, int) and name == "to_bytes":
        guard = _guard_to_bytes
    else:
        return value  # e.g. datetime.replace(): nothing to amplify
    return value if guard is None else guard(obj, value)


def _range(*args: Any) -> range:
    span = range(*args)
    try:
        size = len(span)
    except OverflowError:
        size = MAX_RANGE + 1
    if size > MAX_RANGE:
        raise SandboxViolation(f"range 过长 (上限 {MAX_RANGE} 个元素)")
    return span


def _iter(source: Any, *sentinel: Any) -> Any:
    if not sentinel:
        return iter(source)

    def call() -> Any:  # iter(int, 1) never ends and never enters Python code; this does
        _tick()
        return source()

    return iter(call, *sentinel)


def _sum(items: Iterable[Any], /, start: Any = 0) -> Any:
    if isinstance(start, list | tuple):  # quadratic in C: sum([[0]] * 10**6, [])
        raise SandboxViolation("sum 只能对数值求和, 拼接列表请用推导式")
    return sum(items, start)


def _round(number: Any, ndigits: Any = None) -> Any:
    if isinstance(number, int) and isinstance(ndigits, int) and -ndigits > number.bit_length():
        return 0  # CPython builds 10**-ndigits first: round(5, -10**9) would never return
    return round(number) if ndigits is None else round(number, ndigits)


# C code such as datetime.strftime imports through the running code's builtins; scripts cannot name this.
_INTERNAL_IMPORTS = frozenset({"time", "_strptime", "locale", "calendar"})


def _internal_import(name: str, *args: Any, **kwargs: Any) -> ModuleType:
    if name not in _INTERNAL_IMPORTS:
        raise SandboxViolation(f"不允许导入模块 ({name})")
    return builtins.__import__(name, *args, **kwargs)


def _print(*args: Any, **kwargs: Any) -> None:
    """Drop output: scripts have no console, and task data is where results belong."""


_SAFE_BUILTINS = (
    "abs", "all", "any", "bool", "chr", "dict", "divmod", "enumerate", "filter", "float", "frozenset",
    "hash", "int", "isinstance", "len", "list", "map", "max", "min", "next", "ord", "repr", "reversed",
    "set", "sorted", "str", "tuple", "zip",
    "Exception", "ValueError", "KeyError", "TypeError", "IndexError", "ZeroDivisionError",
)  # fmt: skip
_BUILTINS: dict[str, Any] = {name: getattr(builtins, name) for name in _SAFE_BUILTINS} | {
    "True": True, "False": False, "None": None,
    "range": _range, "pow": _pow, "sum": _sum, "iter": _iter, "format": _format, "round": _round,
    "print": _print,
    # Helpers the rewriter and C code call; scripts cannot name them because they start with an underscore.
    "__import__": _internal_import,
    "__sb_tick": _tick, "__sb_add": _add, "__sb_iadd": _iadd, "__sb_mul": _mul, "__sb_imul": _imul,
    "__sb_pow": _pow, "__sb_lshift": _lshift, "__sb_mod": _mod, "__sb_fstring": _fstring, "__sb_attr": _attr,
}  # fmt: skip


# ----------------------------------------------------------------------------- running

_PLAIN = frozenset({bool, int, float, str, type(None), dict, list, tuple})  # results that need no closer look


def evaluate(
    expression: str,
    context: Mapping[str, Any],
    extra: Mapping[str, Any] | None = None,
    timeout: float = DEFAULT_TIMEOUT,
) -> Any:
    """Evaluate an expression against task data (`context`) plus `extra` names; raises ScriptError subclasses."""  # noqa: E501
    program = _runnable(expression, "eval", context)
    scope = _globals(extra)
    if program.isolated:  # a copy, so a walrus cannot write into task data
        scope.update(context)
        result = _run(program, scope, None, timeout)
    else:
        result = _run(program, scope, context, timeout)  # context as locals: looked up first, never copied
    if type(result) not in _PLAIN and (callable(result) or hasattr(result, "__next__")):
        # Called or iterated later, it would run outside any deadline.
        raise SandboxViolation("表达式的结果必须是数据, 不能是函数或迭代器")
    return result


def execute(
    script: str,
    context: dict[str, Any],
    extra: Mapping[str, Any] | None = None,
    timeout: float = DEFAULT_TIMEOUT,
) -> None:
    """Run a script that reads and assigns task data in `context` in place; names from `extra`, functions, modules and classes defined by the script are not left in `context`."""  # noqa: E501
    program = _runnable(script, "exec", context)
    names = _globals(extra)
    injected = [name for name in names if name not in context]  # task data wins over extra
    for name in injected:
        context[name] = names[name]
    try:
        _run(program, context, None, timeout)
    finally:
        for name in injected:
            context.pop(name, None)
        context.pop("__builtins__", None)
        # As TaskDataEnvironment does: task data must stay serialisable.
        for name in [name for name, value in context.items() if callable(value) or _is_module(value)]:
            del context[name]


def _runnable(source: str, mode: str, context: Mapping[str, Any]) -> _Program:
    program = _program(source, mode)
    if program.code is None:
        line = program.problems[0][0] if program.problems else None
        raise SandboxViolation("; ".join(_located(n, text) for n, text in program.problems), line)
    # Task data is looked up before builtins, so a submitted field named like a guard would shadow it.
    if clash := sorted(name for name in program.helpers if name in context):
        raise SandboxViolation(f"任务数据中有保留名称 ({', '.join(clash)})")
    return program


def _globals(extra: Mapping[str, Any] | None) -> dict[str, Any]:
    scope: dict[str, Any] = {}
    if extra:
        for name, value in extra.items():
            if _is_module(value):  # the datetime module alone carries `sys`
                raise SandboxViolation(f"不允许向脚本传入模块 ({name}), 请传入其中的类或函数")
        scope.update(extra)
    scope.pop("__builtins__", None)
    return scope


def _is_module(value: Any) -> bool:
    return isinstance(value, ModuleType)


def _run(program: _Program, scope: dict[str, Any], local: Mapping[str, Any] | None, timeout: float) -> Any:
    saved = _clock.deadline, _clock.expired, _clock.ticks, _clock.grown, _clock.memory_limit
    _clock.deadline = min(saved[0], _monotonic() + timeout)  # a nested run cannot outlive its caller
    _clock.expired, _clock.ticks, _clock.grown = False, 0, 0  # a nested run keeps its caller's limit
    scope["__builtins__"] = _BUILTINS
    try:
        result = eval(program.code, scope, local)  # checked and instrumented above
        if _clock.expired:  # the script caught the deadline with a bare except and went on
            raise _Deadline
        return result
    except _Deadline as err:
        line = _script_line(err)
        message = _located(line, f"运行超过 {timeout:g} 秒, 已终止 (是否有死循环?)")
        raise ScriptTimeout(message, line) from None
    except ScriptError as err:
        if err.line is None and (line := _script_line(err)) is not None:
            err.line, err.message = line, _located(line, err.message)
            err.args = (err.message,)
        raise
    except Exception as err:
        line = _script_line(err)
        raise ScriptError(_located(line, _describe(err)), line) from err
    finally:
        _clock.deadline, _clock.expired, _clock.ticks, _clock.grown, _clock.memory_limit = saved


def _script_line(err: BaseException) -> int | None:
    line, trace = None, err.__traceback__
    while trace is not None:  # the innermost frame of the script, not of the guard that raised
        if trace.tb_frame.f_code.co_filename == _FILENAME:
            line = trace.tb_lineno
        trace = trace.tb_next
    return line


def _describe(err: Exception) -> str:
    if isinstance(err, NameError) and getattr(err, "name", None):
        return f"未定义的变量: {err.name}"
    if isinstance(err, RecursionError):
        return "递归层数过深"
    if isinstance(err, MemoryError):
        return "内存不足"
    return f"{type(err).__name__}: {err}"
