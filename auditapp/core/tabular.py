"""One writer for CSV and XLSX downloads, with formula-injection escaping in both."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from datetime import date
from typing import Any

from openpyxl import Workbook

# Flask adds "; charset=utf-8" to text types itself.
MIMETYPES = {"csv": "text/csv", "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"}


def safe_cell(value: Any) -> Any:
    """Text a spreadsheet will not run as a formula (OWASP CSV injection)."""
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return value


def to_csv(columns: Sequence[str], rows: Iterable[Sequence[Any]]) -> str:
    """CSV text: dates as ISO 8601, empty cells for None."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(columns)
    for row in rows:
        writer.writerow([safe_cell("" if v is None else v.isoformat() if isinstance(v, date) else v) for v in row])
    return out.getvalue()


def to_xlsx(sheet_title: str, columns: Sequence[str], rows: Iterable[Sequence[Any]]) -> bytes:
    """An XLSX workbook of one sheet, written row by row (large exports stay small in memory)."""
    book = Workbook(write_only=True)
    sheet = book.create_sheet(sheet_title)
    sheet.append(list(columns))
    for row in rows:
        sheet.append([safe_cell(v) for v in row])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()
