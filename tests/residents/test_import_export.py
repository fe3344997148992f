"""Spreadsheet import (dry run, row report, one transaction, idempotent) and export."""

from __future__ import annotations

import csv
import datetime
import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test.utils import CaptureQueriesContext
from openpyxl import Workbook, load_workbook

from residents.importing import EXPORT_HEADERS, apply_import, plan_import, read_table
from residents.models import Household, ImportJob, PersonalDataAccess, Resident
from tests.residents.factories import id_number

HEADER = [
    "网格编码",
    "楼栋",
    "单元",
    "房号",
    "地址",
    "姓名",
    "身份证号",
    "电话",
    "与户主关系",
    "重点人群",
]


def person(grid, room, name, birth, gender="male", **extra):
    row = {
        "网格编码": grid.code,
        "楼栋": "1",
        "单元": "1",
        "房号": room,
        "地址": "",
        "姓名": name,
        "身份证号": id_number(birth, gender),
        "电话": "",
        "与户主关系": "户主",
        "重点人群": "",
    }
    row.update(extra)
    return row


def as_csv(rows: list[dict]) -> bytes:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=HEADER)
    writer.writeheader()
    writer.writerows(rows)
    return buffer.getvalue().encode("utf-8-sig")


def snapshot():
    return (
        list(Household.objects.order_by("pk").values_list("pk", "updated_at")),
        list(Resident.objects.order_by("pk").values_list("pk", "updated_at", "name")),
        Resident.history.count(),
    )


@pytest.fixture
def sheet(world):
    return [
        person(world.A1, "101", "王大爷", datetime.date(1948, 2, 3), 重点人群="独居老人"),
        person(world.A1, "101", "王小明", datetime.date(2012, 6, 1), 与户主关系="孙子女"),
        person(
            world.A1a,
            "",
            "李婶",
            datetime.date(1966, 9, 9),
            "female",
            地址="东村 3 号",
            电话="13912345678",
            重点人群="低保、残疾人",
        ),
    ]


def test_dry_run_writes_nothing_and_apply_writes_once(world, staff, sheet):
    rows = read_table(as_csv(sheet), "households.csv")
    before = snapshot()
    plan = plan_import(rows, user=staff)
    assert plan.counts() == {
        "create": 3,
        "update": 0,
        "unchanged": 0,
        "refused": 0,
        "households_created": 2,
    }
    assert snapshot() == before

    apply_import(rows, user=staff)
    wang = Resident.objects.get(name="王大爷")
    assert wang.household.head == wang
    assert [t.code for t in wang.tags.all()] == ["elderly_alone"]
    assert wang.household.visit_due_on is not None
    li = Resident.objects.get(name="李婶")
    assert li.household.address == "东村 3 号"
    assert li.phone == "13912345678"
    assert sorted(t.code for t in li.tags.all()) == ["dibao", "disabled"]
    assert wang.history.get().history_user == staff

    # the same file again: nothing to do, nothing written
    after_first = snapshot()
    replan = plan_import(rows, user=staff)
    assert replan.counts()["unchanged"] == 3
    apply_import(rows, user=staff)
    assert snapshot() == after_first


def test_updated_file_updates_by_id_number(world, staff, sheet):
    apply_import(read_table(as_csv(sheet), "a.csv"), user=staff)
    sheet[2]["电话"] = "13800001111"
    sheet[2]["重点人群"] = "低保"
    plan = apply_import(read_table(as_csv(sheet), "a.csv"), user=staff)
    assert plan.counts()["update"] == 1
    li = Resident.objects.get(name="李婶")
    assert li.phone == "13800001111"
    assert [t.code for t in li.tags.all()] == ["dibao"]
    assert Resident.objects.count() == 3


def test_bad_rows_are_reported_and_good_rows_applied(world, staff, sheet):
    bad_checksum = person(world.A1, "102", "错号", datetime.date(1980, 1, 1))
    bad_checksum["身份证号"] = bad_checksum["身份证号"][:17] + (
        "0" if bad_checksum["身份证号"][17] != "0" else "1"
    )
    rows = [
        *sheet,
        bad_checksum,
        person(world.B1, "1", "别人的", datetime.date(1980, 1, 2)),  # not alice's grid
        {**person(world.A1, "103", "无网格", datetime.date(1980, 1, 3)), "网格编码": "NOPE"},
        {**sheet[0], "姓名": "重复"},  # same ID number again
        person(world.A1, "104", "坏电话", datetime.date(1980, 1, 4), 电话="123"),
        person(world.A1, "105", "坏标签", datetime.date(1980, 1, 5), 重点人群="不存在"),
        person(world.A1, "106", "坏生日", datetime.date(1980, 1, 6), 出生日期="1999-01-01"),
    ]
    header = [*HEADER, "出生日期"]
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=header)
    writer.writeheader()
    writer.writerows(rows)
    plan = apply_import(read_table(buffer.getvalue().encode(), "x.csv"), user=staff)
    refused = {r.name: r.reason for r in plan.rows if r.action == "refused"}
    assert set(refused) == {"错号", "别人的", "无网格", "重复", "坏电话", "坏标签", "坏生日"}
    assert "check character" in refused["错号"] or "校验" in refused["错号"]
    assert Resident.objects.count() == 3  # the good rows
    assert not Resident.objects.filter(name__in=refused).exists()


def test_unreadable_files_are_refused(world, staff):
    from residents.importing import ImportFileError

    with pytest.raises(ImportFileError):
        read_table(b"hello", "x.pdf")
    with pytest.raises(ImportFileError):
        read_table(b"a,b\n1,2\n", "x.csv")
    with pytest.raises(ImportFileError):
        read_table(b"not a zip", "x.xlsx")


def test_xlsx_reads_like_csv(world, staff, sheet):
    workbook = Workbook()
    ws = workbook.active
    ws.append(HEADER)
    for row in sheet:
        ws.append([row[h] for h in HEADER])
    buffer = io.BytesIO()
    workbook.save(buffer)
    plan = plan_import(read_table(buffer.getvalue(), "h.xlsx"), user=staff)
    assert plan.counts()["create"] == 3


def test_queries_do_not_grow_with_rows(world, staff):
    def queries(n: int) -> int:
        rows = [
            person(world.A1, str(1000 + i), f"人{i}", datetime.date(1970, 1, 1 + i % 28))
            for i in range(n)
        ]
        table = read_table(as_csv(rows), "q.csv")
        with CaptureQueriesContext(connection) as ctx:
            plan_import(table, user=staff)
        return len(ctx.captured_queries)

    queries(1)  # warm the user's scope cache
    assert queries(5) == queries(60)


# --- through the admin, as staff do it ---------------------------------------------------------


def test_admin_import_flow(client, world, staff, sheet, django_capture_on_commit_callbacks):
    client.force_login(staff)
    assert client.get("/admin/residents/household/import/").status_code == 200
    upload = SimpleUploadedFile("h.csv", as_csv(sheet), content_type="text/csv")
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post("/admin/residents/household/import/", {"file": upload})
    job = ImportJob.objects.get()
    assert response.status_code == 302
    assert job.status == "planned"
    assert Resident.objects.count() == 0
    page = client.get(f"/admin/residents/household/import/{job.pk}/")
    assert page.status_code == 200
    assert "王大爷" in page.content.decode()
    with django_capture_on_commit_callbacks(execute=True):
        client.post(f"/admin/residents/household/import/{job.pk}/", {"confirm": "1"})
    job.refresh_from_db()
    assert job.status == "applied"
    assert job.counts["create"] == 3
    assert Resident.objects.count() == 3


def test_admin_import_refuses_other_files_and_other_people(client, world, staff, worker):
    client.force_login(staff)
    upload = SimpleUploadedFile("h.pdf", b"%PDF", content_type="application/pdf")
    response = client.post("/admin/residents/household/import/", {"file": upload})
    assert response.status_code == 200
    assert ImportJob.objects.count() == 0
    client.force_login(worker)  # a worker changes no grid: no import
    assert client.get("/admin/residents/household/import/").status_code == 403


def test_export_is_masked_per_role_and_logged(client, world, staff, worker, homes):
    client.force_login(worker)
    response = client.get("/admin/residents/household/export/")
    assert response.status_code == 200
    sheet = load_workbook(io.BytesIO(response.content)).active
    rows = list(sheet.iter_rows(values_only=True))
    assert list(rows[0]) == EXPORT_HEADERS
    names = {r[6] for r in rows[1:]}
    assert names == {"王大爷", "李阿姨"}  # bob's subtree only
    wang = next(r for r in rows[1:] if r[6] == "王大爷")
    assert "*" in wang[7]  # bob may not read ID numbers whole
    assert wang[11] == "13987654321"  # but does need the phone
    assert PersonalDataAccess.objects.filter(user=worker, fields="phone").count() == 2
