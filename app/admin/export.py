"""Exports of a list, for any resource: CSV (plain, or for Excel with a BOM and ";") and Excel (.xlsx).

A resource's store may describe its export (``ExportField``s, every field of an
item); without that, the list's printed columns are exported. Rows stream from
the database in batches and are written as they come, so memory stays flat
whatever the list's length.

In the .xlsx every cell is written with its type (text, whole number or date),
never guessed from its content: "+49 30 7654321" stays text and "=1+1" can
never become a formula. A CSV has no types, so values that a spreadsheet would
run as a formula get a leading apostrophe there; phone numbers and numbers pass
unchanged.
"""

from __future__ import annotations

import csv
import io
import queue
import re
import tempfile
import threading
from collections.abc import Callable, Iterator
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

import xlsxwriter

from app.admin.resource import ExportField

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
# What a cell starting with "+" or "-" may hold and still only be a number or phone numbers (";" between them):
# no names, no references.
HARMLESS = re.compile(r"[0-9 ()./+\-;]*")
CHUNK = 65536
# Excel's last row: rows beyond it continue on another sheet.
XLSX_ROWS = 1_048_576


def csv_cell(value: str) -> str:
    """A cell that a spreadsheet shows as text and never runs as a formula; phone numbers are left as they are."""
    if value.startswith(FORMULA_STARTS) and not (value[0] in "+-" and HARMLESS.fullmatch(value)):
        return "'" + value
    return value


def local(value: Any, zone: ZoneInfo) -> Any:
    """An aware date-time in the account's time zone, without the zone (spreadsheets have none)."""
    if isinstance(value, datetime) and value.tzinfo is not None:
        return value.astimezone(zone).replace(tzinfo=None)
    return value


def text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M:%S")
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


def csv_chunks(fields: list[ExportField], items: Iterator[Any], timezone: str, excel: bool = False) -> Iterator[bytes]:
    """The CSV in chunks: RFC 4180 with "," in UTF-8; for Excel (``excel``) with ";" and a byte order mark,
    which is what Excel in German (and most European) settings opens as columns with the umlauts intact."""
    zone = ZoneInfo(timezone)
    out = io.StringIO()
    writer = csv.writer(out, delimiter=";" if excel else ",", lineterminator="\r\n")
    writer.writerow([f.label for f in fields])
    first = True
    for item in items:
        writer.writerow([csv_cell(text(local(f.value(item), zone))) for f in fields])
        if out.tell() > CHUNK:
            yield _encoded(out, excel and first)
            first = False
    yield _encoded(out, excel and first)


def _encoded(out: io.StringIO, bom: bool) -> bytes:
    data = out.getvalue().encode("utf-8")
    out.seek(0)
    out.truncate()
    return (b"\xef\xbb\xbf" + data) if bom else data


def xlsx_chunks(fields: list[ExportField], items: Iterator[Any], timezone: str, title: str) -> Iterator[bytes]:
    """The .xlsx in chunks. XlsxWriter in constant-memory mode keeps one row in memory and the
    sheet in a temporary file; the workbook is zipped straight into the response as it closes.
    Written in a thread of its own, handed over through a small queue."""
    pipe = _Pipe()

    def build() -> None:
        try:
            write_xlsx(pipe, fields, items, timezone, title)
            pipe.put(None)
        except ConnectionAbortedError:
            pass  # the download was broken off: nobody to tell
        except BaseException as exc:  # noqa: BLE001 (handed to the response, which then breaks off: no complete file)
            pipe.put(exc)

    thread = threading.Thread(target=build, name="xlsx-export", daemon=True)
    thread.start()
    try:
        while True:
            chunk = pipe.chunks.get()
            if chunk is None:
                return
            if isinstance(chunk, BaseException):
                raise chunk
            yield chunk
    finally:
        pipe.closed.set()
        thread.join()


def write_xlsx(output: Any, fields: list[ExportField], items: Iterator[Any], timezone: str, title: str) -> None:
    """Write the workbook into ``output``; if reading the items fails, nothing is written there (no
    complete-looking file with rows missing) and the error is raised."""
    zone = ZoneInfo(timezone)
    with tempfile.TemporaryDirectory(prefix="clientele-xlsx-") as tmpdir:
        options = {"constant_memory": True, "use_zip64": True, "strings_to_formulas": False, "tmpdir": tmpdir}
        workbook = xlsxwriter.Workbook(output, options)
        heading = workbook.add_format({"bold": True})
        formats: dict[type, Any] = {
            date: workbook.add_format({"num_format": "yyyy-mm-dd"}),
            datetime: workbook.add_format({"num_format": "yyyy-mm-dd hh:mm:ss"}),
        }
        sheets: list[Any] = []

        def new_sheet() -> Any:
            sheet = workbook.add_worksheet(title[:28] if not sheets else f"{title[:24]} ({len(sheets) + 1})")
            for column, field in enumerate(fields):
                sheet.write_string(0, column, field.label, heading)
            sheet.freeze_panes(1, 0)
            sheets.append(sheet)
            return sheet

        sheet, row = new_sheet(), 1
        for item in items:
            if row == XLSX_ROWS:
                sheet, row = new_sheet(), 1
            for column, field in enumerate(fields):
                _cell(sheet, row, column, local(field.value(item), zone), formats)
            row += 1
        workbook.close()


def _cell(sheet: Any, row: int, column: int, value: Any, formats: dict[type, Any]) -> None:
    """One typed cell; empty values leave the cell empty."""
    if value is None or value == "":
        return
    if isinstance(value, bool):
        sheet.write_string(row, column, "yes" if value else "no")
    elif isinstance(value, int):
        sheet.write_number(row, column, value)
    elif isinstance(value, datetime):
        sheet.write_datetime(row, column, value, formats[datetime])
    elif isinstance(value, date):
        sheet.write_datetime(row, column, value, formats[date])
    else:
        sheet.write_string(row, column, str(value))


class _Pipe:
    """A write-only, unseekable file for ``zipfile`` that hands its bytes over in chunks."""

    def __init__(self) -> None:
        self.chunks: queue.Queue[bytes | BaseException | None] = queue.Queue(maxsize=8)
        self.closed = threading.Event()
        self.buffer = bytearray()

    def write(self, data: bytes) -> int:
        self.buffer += data
        if len(self.buffer) >= CHUNK:
            self.put(bytes(self.buffer))
            self.buffer.clear()
        return len(data)

    def flush(self) -> None:
        if self.buffer:
            self.put(bytes(self.buffer))
            self.buffer.clear()

    def put(self, chunk: bytes | BaseException | None) -> None:
        if chunk is None and self.buffer:
            self.flush()
        while True:
            if self.closed.is_set():
                raise ConnectionAbortedError("the download was broken off")
            try:
                self.chunks.put(chunk, timeout=0.5)
                return
            except queue.Full:
                continue


def columns_as_fields(columns: list[Any], text_of: Callable[[Any, Any], str]) -> list[ExportField]:
    """A resource without an export of its own exports its list's printed columns."""

    def field(column: Any) -> ExportField:
        return ExportField(column.label, lambda item: text_of(column, item))

    return [field(c) for c in columns]
