"""Render an approval (批复) as a .docx document in the layout of an official reply."""

import io
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal

from docx import Document as new_docx
from docx.enum.text import WD_ALIGN_PARAGRAPH
from docx.oxml.ns import qn
from docx.shared import Pt

from handlers.localtime import format_cn_date
from handlers.money import format_yuan, wan_yuan_text, yuan_in_words

TITLE_FONT = "方正小标宋简体"
BODY_FONT = "仿宋_GB2312"
TITLE_SIZE = Pt(22)  # 二号
BODY_SIZE = Pt(16)  # 三号
CHANGE_APPROVAL = "变更批复"  # the kind a change approval is issued under (see bpmn/progress_report.bpmn)
# 立项路径 (route_by_amount.dmn): below the threshold a project is bundled into the annual plan's 项目建议书;
# at or above it the unit writes its own 项目意见书 and 实施方案. Projects of both routes are reviewed.
SMALL_ROUTE, LARGE_ROUTE = "SMALL", "LARGE"
REVIEWED = "经专家集中审查论证和部门联审"  # every project of either route had both (办法, 第二部分)
_NUMERALS = "一二三四五六七八九"
_CLOSING = "。；！？."


@dataclass(frozen=True)
class ApprovalText:
    """What an approval says: who, to whom, about which project, how much, when."""

    doc_no: str
    kind: str
    project_id: str
    project_name: str
    unit_name: str
    approved_budget: Decimal
    authority_name: str
    issued_on: date
    route: str | None = None  # SMALL (打捆纳入年度计划的项目建议书) or LARGE (单独编制); None: not known
    plan_year: int | None = None  # the year of the annual plan a bundled project is in
    plan_doc_no: str | None = None  # the issued annual plan that holds a bundled project
    conditions: tuple[str, ...] = ()  # 批复条件 the signing leader entered
    previous_budget: Decimal | None = None  # a 变更批复's approved budget before the change
    bundle_threshold: Decimal | None = None  # 打捆 threshold it was routed by (route_by_amount)
    crypto_required: bool = False  # the project uses 商用密码: 三同步一评估 is a condition of the approval


def approval_title(kind: str, project_name: str) -> str:
    """Return the title, e.g. 关于某某系统立项的批复."""
    return f"关于{project_name}{kind.removesuffix('批复')}的批复"


def _paragraph(
    doc,
    text: str,
    *,
    font: str = BODY_FONT,
    size: Pt = BODY_SIZE,
    bold: bool = False,
    align: WD_ALIGN_PARAGRAPH | None = None,
    indent: bool = False,
) -> None:
    paragraph = doc.add_paragraph()
    if align is not None:
        paragraph.alignment = align
    if indent:
        paragraph.paragraph_format.first_line_indent = Pt(32)  # two characters
    run = paragraph.add_run(text)
    run.bold = bold
    run.font.size = size
    run.font.name = font
    # Word picks CJK glyphs from the eastAsia font, which python-docx does not set by itself.
    run._element.get_or_add_rPr().get_or_add_rFonts().set(qn("w:eastAsia"), font)


def render_approval(text: ApprovalText, created: datetime) -> bytes:
    """Return the .docx bytes of an approval."""
    doc = new_docx()
    title = approval_title(text.kind, text.project_name)
    doc.core_properties.title = title
    doc.core_properties.author = text.authority_name
    # Core properties are written as UTC without an offset.
    stamp = created.astimezone(UTC).replace(tzinfo=None) if created.tzinfo else created
    doc.core_properties.created = doc.core_properties.modified = stamp
    doc.core_properties.identifier = text.doc_no

    center, right = WD_ALIGN_PARAGRAPH.CENTER, WD_ALIGN_PARAGRAPH.RIGHT
    _paragraph(doc, text.doc_no, align=center)
    _paragraph(doc, title, font=TITLE_FONT, size=TITLE_SIZE, bold=True, align=center)
    _paragraph(doc, f"{text.unit_name}：")
    for line in _body(text):
        _paragraph(doc, line, indent=True)
    doc.add_paragraph()
    _paragraph(doc, text.authority_name, align=right)
    _paragraph(doc, format_cn_date(text.issued_on), align=right)

    buffer = io.BytesIO()
    doc.save(buffer)
    return buffer.getvalue()


def chinese_number(number: int) -> str:
    """Return 1–99 in Chinese numerals as used to number a document's items (1 → 一, 12 → 十二)."""
    tens, ones = divmod(number, 10)
    if not 0 < number < 100:
        raise ValueError(f"条目序号应在 1 至 99 之间：{number}")
    head = "" if tens == 0 else "十" if tens == 1 else _NUMERALS[tens - 1] + "十"
    return head + (_NUMERALS[ones - 1] if ones else "")


def _sentence(text: str) -> str:
    """Return the text ending with a full stop unless it already ends with a closing mark."""
    text = text.strip()
    return text if text.endswith(tuple(_CLOSING)) else text + "。"


def _amount(amount: Decimal) -> str:
    """Return an amount as a document states it: 人民币1,234,567.50元（大写：…）."""
    return f"人民币{format_yuan(amount)}元（大写：{yuan_in_words(amount)}）"


def _basis(text: ApprovalText) -> str:
    """The sentence saying how the project was reviewed, following the route it took."""
    if text.route == LARGE_ROUTE:
        return f"{REVIEWED}，现批复如下："
    if text.route == SMALL_ROUTE:
        plan = f"（{text.plan_doc_no}）" if text.plan_doc_no else ""
        year = text.plan_year or text.issued_on.year
        # The threshold is the one the decision table routed the project by, never a number written here.
        below = f"总投资在{wan_yuan_text(text.bundle_threshold)}以下，" if text.bundle_threshold else ""
        return f"{REVIEWED}，该项目{below}已打捆纳入{year}年度电子政务项目实施计划{plan}，现批复如下："
    return "经审核，现批复如下："


def _numbered(items: list[list[str]]) -> list[str]:
    """Number the items 一、二、…; an item's further lines (its sub-items) follow it unnumbered."""
    lines: list[str] = []
    for number, (first, *rest) in enumerate(items, start=1):
        lines.append(f"{chinese_number(number)}、{first}")
        lines.extend(rest)
    return lines


def _conditions(conditions: tuple[str, ...]) -> list[list[str]]:
    """The item listing the 批复条件, each as a sub-item （一）（二）…; none when there are none."""
    entries = [c.strip() for c in conditions if c and c.strip()]
    if not entries:
        return []
    if len(entries) == 1:
        return [[f"批复条件：{_sentence(entries[0])}"]]
    subs = [f"（{chinese_number(i)}）{_sentence(entry)}" for i, entry in enumerate(entries, start=1)]
    return [["项目须落实以下批复条件：", *subs]]


def _body(text: ApprovalText) -> list[str]:
    """The numbered paragraphs of a 立项批复, or of a 变更批复 (which keeps the rest of the original)."""
    verb = text.kind.removesuffix("批复")
    if text.kind == CHANGE_APPROVAL:
        if text.previous_budget is not None and text.previous_budget != text.approved_budget:
            budget = (
                f"项目总投资由人民币{format_yuan(text.previous_budget)}元调整为{_amount(text.approved_budget)}，"
                "不得超出调整后的核定投资。"
            )
        else:
            budget = f"项目总投资调整为{_amount(text.approved_budget)}，不得超出调整后的核定投资。"
        items = [
            [f"同意{text.project_name}{verb}。"],
            [budget],
            *_conditions(text.conditions),
            ["其余建设内容和要求仍按原立项批复执行。"],
        ]
        return [
            f"你单位报送的《{text.project_name}》（项目编号：{text.project_id}）变更申请收悉。经审核，现批复如下：",
            *_numbered(items),
            "此复。",
        ]
    items = [
        [f"同意{text.project_name}{verb}。"],
        [
            f"核定项目总投资为{_amount(text.approved_budget)}，资金按年度电子政务项目实施计划安排，"
            "不得超出核定投资。"
        ],
        *_conditions(text.conditions),
        [
            "项目须部署在电子政务外网，充分利用市政务云平台和江淮大数据中心六安市子平台等基础资源，"
            "按规定共享数据；签订合同时须明确数据“三清单”（需求清单、责任清单、负面清单）。"
        ],
        *(
            [
                [
                    "项目涉及商用密码应用，须同步规划、同步建设、同步运行密码保障系统，"
                    "竣工验收前完成商用密码应用安全性评估。"
                ]
            ]
            if text.crypto_required
            else []
        ),
        ["项目建成后须开展不少于1个月的试运行，由你单位联合市数据资源管理局组织竣工验收，市公管局见证。"],
        ["项目运行维护情况按年度报市数据资源管理局备案。"],
    ]
    return [
        f"你单位报送的《{text.project_name}》（项目编号：{text.project_id}）相关材料收悉。{_basis(text)}",
        *_numbered(items),
        "此复。",
    ]
