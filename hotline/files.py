"""Reading a hotline file: .xlsx, or .csv in UTF-8 (with or without BOM) or GBK.

Hotline systems export GBK; spreadsheet programs save UTF-8 with a BOM. CSV text is
tried as UTF-8 first (a BOM is dropped), then as GB18030, the superset of GBK that also
decodes every GBK file. Cells of an .xlsx keep their types (a date stays a date), so the
row values are read in ``hotline.columns``.
"""

from __future__ import annotations

import csv
import io
from typing import Any

from django.utils.translation import gettext as _

from hotline.columns import COLUMNS, REQUIRED, column_label, header_key

MAX_ROWS = 20_000
MAX_BYTES = 20 * 1024 * 1024
EXTENSIONS = (".xlsx", ".csv")


class ImportFileError(Exception):
    """The file as a whole cannot be read (wrong type, no header, too many rows)."""


def read_table(data: bytes, filename: str) -> list[dict[str, Any] | None]:
    """The rows under the header, keyed by canonical column names; an empty row is
    ``None`` so that positions still give the line numbers (line 1 is the header)."""
    name = filename.lower()
    if name.endswith(".xlsx"):
        table = _read_xlsx(data)
    elif name.endswith(".csv"):
        table = _read_csv(data)
    else:
        raise ImportFileError(_("Upload an .xlsx or .csv file."))
    if not table:
        raise ImportFileError(_("The file is empty."))
    header, *body = table
    keys = [header_key(cell) for cell in header]
    missing = [column_label(key) for key in REQUIRED if key not in keys]
    if missing:
        raise ImportFileError(
            _("The first row must name the columns (%(columns)s); these are missing: %(missing)s.")
            % {
                "columns": ", ".join(names[0] for names in COLUMNS.values()),
                "missing": ", ".join(missing),
            }
        )
    if len(body) > MAX_ROWS:
        raise ImportFileError(_("At most %(n)d rows per file.") % {"n": MAX_ROWS})
    rows: list[dict[str, Any] | None] = []
    for raw in body:
        if not any(cell not in (None, "") and str(cell).strip() for cell in raw):
            rows.append(None)
            continue
        rows.append({key: (raw[i] if i < len(raw) else None) for i, key in enumerate(keys) if key})
    return rows


def _decode(data: bytes) -> str:
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise ImportFileError(_("The CSV file is neither UTF-8 nor GBK text."))


def _read_csv(data: bytes) -> list[list[str]]:
    content = _decode(data)
    first_line = content.split("\n", 1)[0]
    delimiter = "\t" if first_line.count("\t") > first_line.count(",") else ","
    try:
        return list(csv.reader(io.StringIO(content), delimiter=delimiter))
    except csv.Error as exc:
        raise ImportFileError(_("The CSV file cannot be read: %(error)s") % {"error": exc}) from exc


def _read_xlsx(data: bytes) -> list[list[Any]]:
    from openpyxl import load_workbook

    try:
        workbook = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many kinds for a broken file
        raise ImportFileError(_("The file is not a readable .xlsx workbook.")) from exc
    try:
        return [list(row) for row in workbook.worksheets[0].iter_rows(values_only=True)]
    finally:
        workbook.close()
