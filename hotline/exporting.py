"""Orders out: per order, the columns the hotline sent plus the results it needs to
close its side (办理状态, 办理结果, 满意度, 办结时间, 退单原因), as .xlsx or .csv.

The received columns are written exactly as received (the category as the hotline named
it), so an exported file imported again is "unchanged" row for row. Times are local
(Asia/Shanghai), ``YYYY-MM-DD HH:MM:SS``. CSV is UTF-8 with a BOM (spreadsheet programs
read it) or, on request, GBK (GB18030) for hotline systems that expect it.
"""

from __future__ import annotations

import csv
import datetime
import io
from collections.abc import Iterable
from typing import Any

from django.db.models import QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from hotline.columns import EXPORT_HEADERS
from hotline.models import HotlineOrder, OrderStatus
from tickets.models import TicketStatus

FORMATS = ("xlsx", "csv")
ENCODINGS = ("utf-8", "gbk")


def _local(moment: datetime.datetime | None) -> datetime.datetime | None:
    """A naive local time: what a spreadsheet cell holds."""
    return timezone.localtime(moment).replace(tzinfo=None) if moment else None


def status_label(order: HotlineOrder) -> str:
    if order.status != OrderStatus.PLACED or order.ticket is None:
        return str(OrderStatus(order.status).label)
    return str(order.ticket.get_status_display())


def result_text(order: HotlineOrder) -> str:
    """What was done: the resolution's note, a meeting's closing decision, the reason
    for a rejection, or the ticket it duplicates."""
    ticket = order.ticket
    if ticket is None:
        return ""
    if ticket.status == TicketStatus.REJECTED:
        return ticket.reject_reason
    if ticket.status == TicketStatus.DUPLICATE and ticket.duplicate_of is not None:
        return _("Duplicate of ticket %(number)s.") % {"number": ticket.duplicate_of.number}
    return getattr(order, "resolved_note", None) or getattr(order, "closed_note", None) or ""


def finished_at(order: HotlineOrder) -> datetime.datetime | None:
    """When it was done on our side: resolved, else closed (rejected, duplicate, returned),
    else returned without ever becoming a ticket."""
    ticket = order.ticket
    if order.status == OrderStatus.RETURNED:
        return order.returned_at
    if ticket is None:
        return None
    return ticket.resolved_at or ticket.closed_at


def export_row(order: HotlineOrder) -> list[Any]:
    ticket = order.ticket
    return [
        order.number,
        _local(order.called_at),
        order.caller,
        order.phone,
        order.address,
        order.content,
        order.category_text,
        _local(order.deadline),
        order.lng,
        order.lat,
        status_label(order),
        result_text(order),
        str(ticket.get_rating_display()) if ticket is not None and ticket.rating else "",
        _local(finished_at(order)),
        order.return_reason,
    ]


def export_rows(orders: QuerySet[HotlineOrder]) -> Iterable[list[Any]]:
    for order in orders.iterator(chunk_size=2000):
        yield export_row(order)


def _cell_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime.datetime):
        return value.strftime("%Y-%m-%d %H:%M:%S")
    return str(value)


def as_csv(rows: Iterable[list[Any]], *, encoding: str = "utf-8") -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(EXPORT_HEADERS)
    for row in rows:
        writer.writerow([_cell_text(v) for v in row])
    if encoding == "gbk":
        return buffer.getvalue().encode("gb18030")
    return ("\ufeff" + buffer.getvalue()).encode("utf-8")


def as_xlsx(rows: Iterable[list[Any]]) -> bytes:
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell

    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet("12345")
    sheet.append(EXPORT_HEADERS)
    for row in rows:
        cells = []
        for value in row:
            cell = WriteOnlyCell(sheet, value=value)
            if isinstance(value, datetime.datetime):
                cell.number_format = "yyyy-mm-dd hh:mm:ss"
            cells.append(cell)
        sheet.append(cells)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def export_file(orders: QuerySet[HotlineOrder], *, file_format: str, encoding: str = "utf-8"):
    """``(content, content type, file name)``."""
    stamp = timezone.localtime().strftime("%Y%m%d-%H%M")
    if file_format == "csv":
        charset = "gb18030" if encoding == "gbk" else "utf-8"
        return (
            as_csv(export_rows(orders), encoding=encoding),
            f"text/csv; charset={charset}",
            f"hotline-{stamp}.csv",
        )
    return (
        as_xlsx(export_rows(orders)),
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        f"hotline-{stamp}.xlsx",
    )
