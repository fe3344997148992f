"""Fixtures of the hotline tests: categories the hotline names, and files built in the
test (xlsx with openpyxl, csv in UTF-8 with and without BOM, and GBK).

The world's grids (``tests/conftest.py``) are named 县C › 镇T1 › 社区A › 小区A1 › 微网格A1a
(its box: lng 100.0–100.1, lat 30.0–30.1), 小区A2, 社区B › 小区B1. Alice is community staff
of 社区A: her orders are received for area A and placed on A's grids.
"""

from __future__ import annotations

import csv
import datetime
import io

import pytest
from openpyxl import Workbook

from grids.models import AssignmentRole
from tests.grids.factories import assign
from tests.tickets.factories import make_category

HEADER = [
    "工单编号",
    "来电时间",
    "来电人",
    "联系电话",
    "地址",
    "诉求内容",
    "诉求分类",
    "办理时限",
    "经度",
    "纬度",
]
ENGLISH = [
    "number",
    "called_at",
    "caller",
    "phone",
    "address",
    "content",
    "category",
    "deadline",
    "lng",
    "lat",
]


def order(number: str, **changes) -> dict:
    """One row of a hotline file, in the Chinese columns."""
    row = {
        "工单编号": number,
        "来电时间": "2026-11-20 09:30:00",
        "来电人": "王女士",
        "联系电话": "13912345678",
        "地址": "镇T1社区A小区A1微网格A1a 3号楼下",
        "诉求内容": "楼下路灯不亮。已经一周了，晚上出行不便。",
        "诉求分类": "路灯照明",
        "办理时限": "",
        "经度": "",
        "纬度": "",
    }
    row.update(changes)
    return row


def as_csv(rows: list[dict], *, encoding: str = "utf-8-sig", header=HEADER) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(header)
    for row in rows:
        writer.writerow([row.get(h, "") for h in HEADER])
    return buffer.getvalue().encode(encoding)


def as_xlsx(rows: list[dict], *, header=HEADER, typed: bool = True) -> bytes:
    """An .xlsx as a hotline system writes it: times as real date cells when ``typed``."""
    workbook = Workbook()
    sheet = workbook.active
    sheet.append(header)
    for row in rows:
        cells = []
        for name in HEADER:
            value = row.get(name, "")
            if typed and name in ("来电时间", "办理时限") and value and len(value) == 19:
                value = datetime.datetime.fromisoformat(value)
            cells.append(value if value != "" else None)
        sheet.append(cells)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    """Uploaded files go to a temporary folder, not the development media root."""
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.fixture
def lighting(db):
    """Dispatched by hand; 4 h to respond, 5 days to resolve."""
    return make_category(
        name="路灯照明",
        code="lighting",
        respond=datetime.timedelta(hours=4),
        resolve=datetime.timedelta(days=5),
    )


@pytest.fixture
def sanitation(db):
    return make_category(name="环境卫生", code="sanitation")


@pytest.fixture
def categories(lighting, sanitation):
    return {"lighting": lighting, "sanitation": sanitation}


@pytest.fixture
def grace(world, make_user):
    """Grid leader of 小区A1: changes A1's subtree only."""
    user = make_user("grace")
    assign(user, world.A1, AssignmentRole.GRID_LEADER)
    return user


@pytest.fixture
def betty(world, make_user):
    """Community staff of 社区B, the sibling desk."""
    user = make_user("betty")
    assign(user, world.B, AssignmentRole.COMMUNITY_STAFF)
    return user
