"""Orders out: the hotline's columns plus the results, as xlsx and csv, filtered by call
date and by "changed since", scoped to the areas one changes."""

from __future__ import annotations

import csv
import datetime
import io

import pytest
import time_machine
from django.utils import timezone
from openpyxl import load_workbook

from hotline.columns import EXPORT_HEADERS
from hotline.files import read_table
from hotline.importing import apply_import
from hotline.models import HotlineOrder
from residents.models import PersonalDataAccess
from tests.grids.factories import superuser
from tests.hotline.conftest import as_csv, order
from tickets import services as ticket_services
from tickets.models import Rating, Ticket

EXPORT = "/api/v1/hotline/orders/export/"


@pytest.fixture
def worked(world, staff, worker, categories):
    """Four orders of area A, each at another stage, called on 18–21 November."""
    rows = [
        order("E-1", 来电时间="2026-11-18 08:00:00", 经度="100.05", 纬度="30.05"),
        order("E-2", 来电时间="2026-11-19 08:00:00"),
        order("E-3", 来电时间="2026-11-20 08:00:00", 诉求分类="不认识"),
        order("E-4", 来电时间="2026-11-21 08:00:00", 办理时限="2026-12-31"),
    ]
    apply_import(read_table(as_csv(rows), "in.csv"), user=staff, area=world.A)
    resolved = Ticket.objects.get(external_number="E-1")
    ticket_services.ticket_dispatch(actor=superuser(), ticket=resolved, assignee=worker)
    ticket_services.ticket_accept(actor=worker, ticket=resolved)
    ticket_services.ticket_resolve(actor=worker, ticket=resolved, note="已更换灯泡，恢复照明")
    ticket_services.ticket_rate(actor=staff, ticket=resolved, rating=Rating.SATISFIED)
    returned = Ticket.objects.get(external_number="E-2")
    ticket_services.ticket_return(actor=staff, ticket=returned, reason="属于供电公司")
    return rows


def _csv_rows(content: bytes, encoding: str = "utf-8-sig") -> list[list[str]]:
    return list(csv.reader(io.StringIO(content.decode(encoding))))


def test_csv_export_has_the_columns_and_results(world, staff, worked, api_client_for):
    response = api_client_for(staff).get(EXPORT, {"as": "csv"})

    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    assert response.content.startswith("\ufeff".encode())
    header, *rows = _csv_rows(response.content)
    assert header == EXPORT_HEADERS
    assert header[-5:] == ["办理状态", "办理结果", "满意度", "办结时间", "退单原因"]
    by_number = {row[0]: dict(zip(header, row, strict=True)) for row in rows}
    assert list(by_number) == ["E-1", "E-2", "E-3", "E-4"]  # oldest call first
    resolved = Ticket.objects.get(external_number="E-1")
    first = by_number["E-1"]
    assert first["来电时间"] == "2026-11-18 08:00:00"
    assert (first["来电人"], first["联系电话"], first["诉求分类"]) == (
        "王女士",
        "13912345678",
        "路灯照明",
    )
    assert (first["经度"], first["纬度"]) == ("100.05", "30.05")
    assert first["办理状态"] == str(resolved.get_status_display())
    assert first["办理结果"] == "已更换灯泡，恢复照明"
    assert first["满意度"] == str(Rating.SATISFIED.label)
    assert first["办结时间"] == timezone.localtime(resolved.resolved_at).strftime(
        "%Y-%m-%d %H:%M:%S"
    )
    assert first["退单原因"] == ""
    second = by_number["E-2"]
    assert (second["退单原因"], second["办理结果"]) == ("属于供电公司", "")
    assert second["办结时间"]
    assert by_number["E-3"]["办理状态"] == str(
        HotlineOrder.objects.get(number="E-3").get_status_display()
    )
    assert by_number["E-3"]["办结时间"] == ""
    assert by_number["E-4"]["办理时限"] == "2026-12-31 23:59:59"


def test_xlsx_export_and_gbk_csv(world, staff, worked, api_client_for):
    client = api_client_for(staff)

    xlsx = client.get(EXPORT, {"as": "xlsx"})
    gbk = client.get(EXPORT, {"as": "csv", "encoding": "gbk"})

    assert xlsx.status_code == 200
    sheet = load_workbook(io.BytesIO(xlsx.content)).active
    values = list(sheet.iter_rows(values_only=True))
    assert list(values[0]) == EXPORT_HEADERS
    assert values[1][0] == "E-1"
    assert values[1][1] == datetime.datetime(2026, 11, 18, 8, 0)  # noqa: DTZ001 (a cell is local)
    assert values[1][11] == "已更换灯泡，恢复照明"
    assert values[2][14] == "属于供电公司"
    header, *rows = _csv_rows(gbk.content, "gb18030")
    assert header == EXPORT_HEADERS
    assert rows[1][14] == "属于供电公司"


def test_an_exported_file_imports_back_unchanged(world, staff, worked, api_client_for):
    client = api_client_for(staff)
    for kind, name in (("xlsx", "out.xlsx"), ("csv", "out.csv")):
        content = client.get(EXPORT, {"as": kind}).content

        plan = apply_import(read_table(content, name), user=staff, area=world.A)

        assert [row.action for row in plan.rows] == ["unchanged"] * 4, plan.report()


def test_export_by_call_date_and_changed_since(world, staff, worked, api_client_for):
    client = api_client_for(staff)

    def numbers(query: dict) -> list[str]:
        response = client.get(EXPORT, {"as": "csv", **query})
        assert response.status_code == 200
        return [row[0] for row in _csv_rows(response.content)[1:]]

    assert numbers({"date_from": "2026-11-19", "date_to": "2026-11-20"}) == ["E-2", "E-3"]
    assert numbers({"date_from": "2026-11-21"}) == ["E-4"]
    later = timezone.now() + datetime.timedelta(hours=2)
    assert numbers({"changed_since": later.isoformat()}) == []
    with time_machine.travel(later + datetime.timedelta(minutes=5)):
        ticket_services.ticket_dispatch(
            actor=superuser(), ticket=Ticket.objects.get(external_number="E-4"), claim_board=True
        )
    assert numbers({"changed_since": later.isoformat()}) == ["E-4"]


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ({"as": "pdf"}, "file_format"),
        ({"date_from": "2026-11-20", "date_to": "2026-11-19"}, "date_to"),
        ({"date_from": "yesterday"}, "date_from"),
        ({"changed_since": "soon"}, "changed_since"),
        ({"encoding": "latin-1"}, "encoding"),
    ],
)
def test_bad_export_requests_are_400(world, staff, api_client_for, query, field):
    response = api_client_for(staff).get(EXPORT, query)

    assert response.status_code == 400
    assert field in response.json()


def test_export_is_for_the_areas_staff(world, leader, outsider, betty, worked, api_client_for):
    for person in (leader, outsider, betty):
        response = api_client_for(person).get(EXPORT, {"as": "csv"})
        assert response.status_code == 200
        assert _csv_rows(response.content) == [EXPORT_HEADERS]


def test_export_costs_a_fixed_number_of_queries(
    world, staff, worked, api_client_for, django_assert_max_num_queries
):
    client = api_client_for(staff)
    with django_assert_max_num_queries(5):  # with the access log's line
        assert client.get(EXPORT, {"as": "csv"}).status_code == 200


def test_each_export_is_in_the_personal_data_access_log(world, staff, worked, api_client_for):
    client = api_client_for(staff)
    client.get(EXPORT, {"as": "csv"}, REMOTE_ADDR="10.9.8.7")
    client.get(EXPORT, {"date_from": "2026-11-20", "date_to": "2026-11-19"})  # refused: no line

    (line,) = PersonalDataAccess.objects.all()
    assert (line.user, line.fields, line.ip_address) == (staff, "phone (12345 export)", "10.9.8.7")
    assert line.path == EXPORT
    assert line.resident is None
