"""The .xlsx lists a user takes out (the register, task lists): one sheet, a styled header, filters on."""

from __future__ import annotations

import io
from collections.abc import Iterable, Sequence

from openpyxl import Workbook
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.worksheet import Worksheet

MONEY_FORMAT = "#,##0.00"


def new_sheet(title: str, columns: Sequence[tuple[str, int]]) -> tuple[Workbook, Worksheet]:
    """Return a workbook whose one sheet has `columns` (title, width) as a bold, shaded header row."""
    wb = Workbook()
    ws = wb.active
    ws.title = title[:31]
    ws.append([name for name, _ in columns])
    for index, (_, width) in enumerate(columns, start=1):
        ws.column_dimensions[get_column_letter(index)].width = width
        cell = ws.cell(row=1, column=index)
        cell.font = Font(bold=True)
        cell.fill = PatternFill("solid", fgColor="EEF4FC")
        cell.alignment = Alignment(horizontal="center")
    return wb, ws


def money_columns(ws: Worksheet, columns: Iterable[int]) -> None:
    """Show the last row's cells in `columns` (1-based) as amounts with two decimals."""
    for column in columns:
        ws.cell(row=ws.max_row, column=column).number_format = MONEY_FORMAT


def workbook_bytes(wb: Workbook, ws: Worksheet, width: int) -> bytes:
    """Freeze the header, filter every column and return the .xlsx file."""
    ws.freeze_panes = "A2"
    ws.auto_filter.ref = f"A1:{get_column_letter(width)}{max(ws.max_row, 1)}"
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()
