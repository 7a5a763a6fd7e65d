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
from handlers.money import format_yuan, yuan_in_words

TITLE_FONT = "方正小标宋简体"
BODY_FONT = "仿宋_GB2312"
TITLE_SIZE = Pt(22)  # 二号
BODY_SIZE = Pt(16)  # 三号
CHANGE_APPROVAL = "变更批复"  # the kind a change approval is issued under (see bpmn/progress_report.bpmn)


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


def _body(text: ApprovalText) -> list[str]:
    """The numbered paragraphs of a 立项批复, or of a 变更批复 (which keeps the rest of the original)."""
    verb = text.kind.removesuffix("批复")
    budget = f"人民币{format_yuan(text.approved_budget)}元（大写：{yuan_in_words(text.approved_budget)}）"
    if text.kind == CHANGE_APPROVAL:
        return [
            f"你单位报送的《{text.project_name}》（项目编号：{text.project_id}）变更申请收悉。经审核，现批复如下：",
            f"一、同意{text.project_name}{verb}。",
            f"二、项目总投资调整为{budget}，不得超出调整后的核定投资。",
            "三、其余建设内容和要求仍按原立项批复执行。",
            "此复。",
        ]
    return [
        f"你单位报送的《{text.project_name}》（项目编号：{text.project_id}）相关材料收悉。"
        "经专家集中审查论证和部门联审，现批复如下：",
        f"一、同意{text.project_name}{verb}。",
        f"二、核定项目总投资为{budget}，资金按年度电子政务项目实施计划安排，不得超出核定投资。",
        "三、项目须部署在电子政务外网，充分利用市政务云平台和江淮大数据中心六安市子平台等基础资源，"
        "按规定共享数据；签订合同时须明确数据“三清单”（需求清单、责任清单、负面清单）。",
        "四、项目建成后须开展不少于1个月的试运行，由你单位联合市数据资源管理局组织竣工验收，市公管局见证。",
        "五、项目运行维护情况按年度报市数据资源管理局备案。",
        "此复。",
    ]
