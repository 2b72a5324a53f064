"""Read an uploaded XLSX or CSV file into plain rows of cell values, within bounds.

The reading side of ``core.tabular``: no domain, no HTTP. Whatever the bytes are, the answer is
either a ``Workbook`` of tables or a ``SheetFileError`` with a sentence for the person who
uploaded it (never an exception from a parser):

- size: at most ``MAX_FILE_BYTES``; an XLSX is a zip, so its members' unpacked sizes are checked
  from the zip directory before anything is unpacked (a zip bomb is refused, not inflated), and
  the shared strings table (which openpyxl keeps in memory even in read-only mode) has its own
  bound; Python's zip reader never unpacks a member past its declared size;
- rows and columns: at most ``MAX_ROWS`` rows and ``MAX_COLUMNS`` columns are read;
- formulas: the value Excel saved with the file is read, and the cells that held a formula are
  listed so the caller can say so; a formula with no saved value reads as empty;
- CSV: UTF-8 (with or without BOM), else Windows-1252 with a note; the delimiter is the one of
  ``,`` ``;`` or tab found most in the first line (Excel writes ``;`` in many countries).
"""

from __future__ import annotations

import csv
import io
import zipfile
from dataclasses import dataclass, field
from datetime import date, datetime, time
from typing import Any

from openpyxl import load_workbook
from openpyxl.utils import get_column_letter

MAX_FILE_BYTES = 4 * 1024 * 1024
MAX_UNPACKED_BYTES = 64 * 1024 * 1024
MAX_SHARED_STRINGS_BYTES = 16 * 1024 * 1024
MAX_ZIP_MEMBERS = 500
MAX_ROWS = 5000
MAX_COLUMNS = 60
MAX_CSV_FIELD = 100_000

CellValue = str | int | float | bool | date | datetime | time | None


class SheetFileError(ValueError):
    """The file cannot be read as a table; ``message`` says why and what to do."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


@dataclass
class Table:
    """One sheet (or the CSV file): rows of values; rows[0] is row 1, rows[r][c] is column c+1."""

    name: str
    rows: list[list[Any]] = field(default_factory=list)
    formulas: set[tuple[int, int]] = field(default_factory=set)  # (row, column), 1-based

    def value(self, row: int, column: int) -> Any:
        """The value at a 1-based row and column, None when outside the data."""
        if 1 <= row <= len(self.rows) and 1 <= column <= len(self.rows[row - 1]):
            return self.rows[row - 1][column - 1]
        return None


@dataclass
class Workbook:
    kind: str  # "xlsx" | "csv"
    tables: list[Table]
    notes: list[str] = field(default_factory=list)

    def table(self, name: str) -> Table | None:
        """The sheet of that name, ignoring case and surrounding spaces."""
        wanted = name.strip().lower()
        return next((t for t in self.tables if t.name.strip().lower() == wanted), None)


def cell_name(row: int, column: int) -> str:
    """ "F7" for row 7, column 6."""
    return f"{get_column_letter(column)}{row}"


def read_upload(data: bytes, filename: str = "") -> Workbook:
    """The tables of an XLSX or CSV file's bytes; SheetFileError when it is neither or too big."""
    if len(data) > MAX_FILE_BYTES:
        raise SheetFileError(
            f"the file is {len(data):,} bytes; spreadsheets are limited to {MAX_FILE_BYTES // (1024 * 1024)} MB"
        )
    if not data.strip():
        raise SheetFileError("the file is empty")
    if data[:4] == b"PK\x03\x04":
        return _read_xlsx(data)
    if data[:8] == b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1":
        raise SheetFileError("this is an old Excel file (.xls); open it in Excel and save it as Excel Workbook (.xlsx)")
    stem = filename.rsplit("/", 1)[-1].rsplit("\\", 1)[-1]
    stem = stem.rsplit(".", 1)[0] if "." in stem else stem
    return _read_csv(data, stem or "CSV")


def _read_xlsx(data: bytes) -> Workbook:
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        members = archive.infolist()
    except Exception:  # BadZipFile, NotImplementedError (an unknown zip version), OSError...
        raise SheetFileError("the file looks like a zip but cannot be opened; save it again as .xlsx")
    names = {m.filename for m in members}
    if "mimetype" in names and "xl/workbook.xml" not in names:
        raise SheetFileError("this is an OpenDocument spreadsheet (.ods); save it as Excel Workbook (.xlsx)")
    if "xl/workbook.xml" not in names:
        raise SheetFileError("this zip file is not an Excel workbook (.xlsx)")
    if len(members) > MAX_ZIP_MEMBERS:
        raise SheetFileError(f"the workbook has {len(members):,} parts; at most {MAX_ZIP_MEMBERS} are read")
    unpacked = sum(m.file_size for m in members)
    if unpacked > MAX_UNPACKED_BYTES:
        raise SheetFileError(
            f"the workbook unpacks to {unpacked:,} bytes; at most {MAX_UNPACKED_BYTES // (1024 * 1024)} MB are read"
        )
    shared = next((m for m in members if m.filename == "xl/sharedStrings.xml"), None)
    if shared is not None and shared.file_size > MAX_SHARED_STRINGS_BYTES:
        raise SheetFileError(f"the workbook's text table is {shared.file_size:,} bytes; too big to read")
    try:
        # One pass reads each cell as written (a formula as its text); only a workbook with
        # formulas is read a second time, for the values Excel saved with them.
        raw = load_workbook(io.BytesIO(data), read_only=True, data_only=False)
        tables = [_read_sheet(sheet) for sheet in raw.worksheets]
        raw.close()
        if any(t.formulas for t in tables):
            values = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
            for table, sheet in zip(tables, values.worksheets, strict=True):
                if table.formulas:
                    _saved_values(table, sheet)
            values.close()
    except SheetFileError:
        raise
    except Exception as exc:  # any parser failure of a hostile file gets the same answer
        raise SheetFileError(f"the workbook cannot be read ({exc.__class__.__name__}); save it again as .xlsx")
    return Workbook("xlsx", tables)


def _read_sheet(sheet: Any) -> Table:
    table = Table(sheet.title)
    for r, row in enumerate(sheet.iter_rows(max_col=MAX_COLUMNS, values_only=True), start=1):
        if r > MAX_ROWS:
            raise SheetFileError(f'sheet "{sheet.title}" has more than {MAX_ROWS:,} rows; split the checklist')
        cells = list(row)
        for c, value in enumerate(cells, start=1):
            if _is_formula(value):
                table.formulas.add((r, c))
                cells[c - 1] = None  # until its saved value is read
        while cells and cells[-1] in (None, ""):
            cells.pop()
        table.rows.append(cells)
    while table.rows and not table.rows[-1]:
        table.rows.pop()
    return table


def _is_formula(value: Any) -> bool:
    """A formula as openpyxl reads it without values: "=A1", or an array or data-table formula object."""
    if isinstance(value, str):
        return value.startswith("=")
    return value is not None and not isinstance(value, (int, float, bool, date, datetime, time))


def _saved_values(table: Table, sheet: Any) -> None:
    """Put the value Excel saved with each formula cell in place of the formula."""
    last_row = max(r for r, _ in table.formulas)
    for r, row in enumerate(sheet.iter_rows(max_row=last_row, max_col=MAX_COLUMNS, values_only=True), start=1):
        for c, value in enumerate(row, start=1):
            if (r, c) in table.formulas:
                while len(table.rows) < r:  # a row of nothing but formulas was trimmed away
                    table.rows.append([])
                cells = table.rows[r - 1]
                cells.extend([None] * (c - len(cells)))
                cells[c - 1] = value


def _read_csv(data: bytes, name: str) -> Workbook:
    notes = []
    if b"\x00" in data:
        raise SheetFileError("this is not a CSV text file (it holds binary data); upload the .xlsx or a CSV")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        try:
            text = data.decode("cp1252")
        except UnicodeDecodeError:
            raise SheetFileError("the CSV file is neither UTF-8 nor Windows-1252; save it as CSV UTF-8")
        notes.append(
            "the CSV file is not UTF-8, so it was read as Windows-1252 (Western European);"
            ' if accented letters look wrong, save it from Excel as "CSV UTF-8"'
        )
    first = next((line for line in text.splitlines() if line.strip()), "")
    delimiter = max([",", ";", "\t"], key=first.count)
    table = Table(name)
    limit = csv.field_size_limit()
    try:
        csv.field_size_limit(MAX_CSV_FIELD)
        for r, row in enumerate(csv.reader(io.StringIO(text, newline=""), delimiter=delimiter), start=1):
            if r > MAX_ROWS:
                raise SheetFileError(f"the CSV file has more than {MAX_ROWS:,} rows; at most that are read")
            cells: list[Any] = list(row[:MAX_COLUMNS])
            while cells and not cells[-1].strip():
                cells.pop()
            table.rows.append(cells)
    except csv.Error as exc:
        raise SheetFileError(f"the CSV file cannot be read: {exc}")
    finally:
        csv.field_size_limit(limit)
    while table.rows and not table.rows[-1]:
        table.rows.pop()
    return Workbook("csv", [table], notes)
