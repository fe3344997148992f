"""The hotline in the admin: import (upload → dry run report → apply), the list of
orders to place by hand with the place page, returning orders, the export; all scoped to
the user's grids."""

from __future__ import annotations

import csv
import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from hotline.columns import EXPORT_HEADERS
from hotline.files import read_table
from hotline.importing import apply_import
from hotline.models import HotlineImport, HotlineOrder, OrderStatus
from residents.models import PersonalDataAccess
from tests.hotline.conftest import as_csv, as_xlsx, order
from tickets.models import Ticket, TicketStatus

BASE = "/admin/hotline/hotlineorder/"


@pytest.fixture
def listed(world, staff, categories):
    """One placed order and two waiting to be placed by hand, in area A."""
    rows = [order("H-1"), order("H-2", 诉求分类="无此分类"), order("H-3", 地址="外省某地")]
    apply_import(read_table(as_csv(rows), "in.csv"), user=staff, area=world.A)
    return {o.number: o for o in HotlineOrder.objects.all()}


def test_admin_import_flow(client, world, staff, categories, django_capture_on_commit_callbacks):
    client.force_login(staff)
    page = client.get(f"{BASE}import/")
    assert page.status_code == 200
    assert "工单编号" in page.content.decode()
    upload = SimpleUploadedFile(
        "orders.xlsx", as_xlsx([order("AD-1"), order("AD-2", 联系电话="1")])
    )

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(f"{BASE}import/", {"file": upload, "area": world.A.pk})

    job = HotlineImport.objects.get()
    assert response.status_code == 302
    assert (job.status, job.area) == ("planned", world.A)
    assert not HotlineOrder.objects.exists()
    report = client.get(f"{BASE}import/{job.pk}/")
    assert report.status_code == 200
    assert "AD-2" in report.content.decode()
    with django_capture_on_commit_callbacks(execute=True):
        client.post(f"{BASE}import/{job.pk}/", {"confirm": "1"})
    job.refresh_from_db()
    assert job.status == "applied"
    assert (job.counts["open"], job.counts["stage"]) == (1, 1)
    assert Ticket.objects.get().external_number == "AD-1"


def test_admin_import_refuses_bad_uploads_and_workers(client, world, staff, worker, categories):
    client.force_login(staff)
    upload = SimpleUploadedFile("orders.pdf", b"%PDF")

    response = client.post(f"{BASE}import/", {"file": upload, "area": world.A.pk})

    assert response.status_code == 200
    assert not HotlineImport.objects.exists()
    other_area = client.post(
        f"{BASE}import/", {"file": SimpleUploadedFile("o.csv", b"x"), "area": world.B.pk}
    )
    assert other_area.status_code == 200  # B is not a choice for alice
    assert not HotlineImport.objects.exists()
    client.force_login(worker)  # bob changes no grid: no import, no export
    assert client.get(f"{BASE}import/").status_code == 403
    assert client.get(f"{BASE}export/").status_code == 403


def test_the_list_is_scoped_and_shows_why(client, world, staff, outsider, listed):
    client.force_login(staff)
    page = client.get(BASE, {"status__exact": "unplaceable"})
    assert page.status_code == 200
    content = page.content.decode()
    assert all(text in content for text in ("H-2", "H-3", "无此分类"))
    assert f"{BASE}{listed['H-2'].pk}/place/" in content
    detail = client.get(f"{BASE}{listed['H-1'].pk}/change/")
    assert detail.status_code == 200
    client.force_login(outsider)
    assert "H-2" not in client.get(BASE).content.decode()
    assert client.get(f"{BASE}{listed['H-2'].pk}/place/").status_code == 404


def test_placing_by_hand_in_the_admin(client, world, staff, leader, listed, categories):
    url = f"{BASE}{listed['H-3'].pk}/place/"
    client.force_login(leader)
    assert client.get(url).status_code == 403
    client.force_login(staff)
    assert client.get(url).status_code == 200

    refused = client.post(url, {"grid": "", "category": categories["lighting"].pk})
    assert refused.status_code == 200
    response = client.post(url, {"grid": world.A2.pk, "category": categories["lighting"].pk})

    assert response.status_code == 302
    placed = HotlineOrder.objects.get(number="H-3")
    assert placed.status == OrderStatus.PLACED
    assert placed.ticket.grid == world.A2


def test_returning_orders_in_the_admin(client, world, staff, listed):
    client.force_login(staff)
    chosen = [listed["H-1"].pk, listed["H-2"].pk]
    data = {"action": "return_to_hotline", "_selected_action": chosen}

    asked = client.post(BASE, data)
    assert asked.status_code == 200
    assert "H-1" in asked.content.decode()
    done = client.post(BASE, {**data, "apply": "1", "reason": "不属于本街道"})

    assert done.status_code == 302
    returned = HotlineOrder.objects.filter(pk__in=chosen, status=OrderStatus.RETURNED)
    assert returned.count() == 2
    assert listed["H-1"].ticket.events.filter(kind="returned").count() == 1
    ticket = Ticket.objects.get(pk=listed["H-1"].ticket_id)
    assert ticket.status == TicketStatus.RETURNED
    # a second return of the same orders is refused per order, nothing changes
    client.post(BASE, {**data, "apply": "1", "reason": "再次"})
    assert ticket.events.filter(kind="returned").count() == 1


def test_admin_export(client, world, staff, listed):
    client.force_login(staff)
    assert client.get(f"{BASE}export/").status_code == 200

    response = client.post(f"{BASE}export/", {"file_format": "csv", "encoding": "gbk"})

    assert response.status_code == 200
    rows = list(csv.reader(io.StringIO(response.content.decode("gb18030"))))
    assert rows[0] == EXPORT_HEADERS
    assert sorted(r[0] for r in rows[1:]) == ["H-1", "H-2", "H-3"]
    assert PersonalDataAccess.objects.filter(user=staff, fields="phone (12345 export)").count() == 1
    bad = client.post(
        f"{BASE}export/", {"file_format": "csv", "date_from": "2026-11-20", "date_to": "2026-11-01"}
    )
    assert bad.status_code == 200
    assert "errornote" in bad.content.decode()


def test_the_callers_phone_is_masked_for_readers(client, staff, leader, listed):
    """The area's staff call back and see the number; a district leader only reads."""
    url = f"{BASE}{listed['H-1'].pk}/change/"
    client.force_login(staff)
    full = client.get(url).content.decode()
    client.force_login(leader)
    masked = client.get(url).content.decode()

    assert "13912345678" in full
    assert "13912345678" not in masked
    assert "139****5678" in masked
