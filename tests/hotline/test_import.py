"""Orders in from a file: dry run, row report, placement, the staging list, duplicates in
one file, re-import as a no-op, changed rows, encodings and bad files."""

from __future__ import annotations

import datetime

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone, translation

from governance.errors import Conflict
from hotline import services
from hotline.files import ImportFileError, read_table
from hotline.importing import apply_import, plan_import
from hotline.models import HotlineImport, HotlineOrder, OrderStatus
from residents.models import ImportStatus
from tests.hotline.conftest import ENGLISH, as_csv, as_xlsx, order
from tickets.models import Channel, Ticket, TicketEvent, TicketSequence


@pytest.fixture
def sheet():
    """Good rows, the same order twice, unplaceable rows and an unreadable one."""
    return [
        order("12345-0001"),  # line 2: placed by its address on 微网格A1a
        order(  # line 3: placed by its coordinates on 小区A2 (the address names nothing)
            "12345-0002",
            地址="某路 8 号",
            经度="100.3",
            纬度="30.2",
            诉求分类="sanitation",
            诉求内容="垃圾桶满了没人清运",
        ),
        order("12345-0003", 诉求内容="第一次来电：噪音扰民"),  # line 4: superseded by line 5
        order("12345-0003", 诉求内容="第二次来电：噪音扰民，深夜施工"),  # line 5: wins
        order("12345-0004", 诉求分类="外星人入侵"),  # line 6: unknown category
        order("12345-0005", 联系电话="12345"),  # line 7: bad phone
        order("12345-0006", 地址="火星第一大街"),  # line 8: no grid found
        order("", 诉求内容="没有编号的工单"),  # line 9: no number
        order("12345-0007", 来电时间="昨天下午"),  # line 10: refused, unreadable time
    ]


def snapshot():
    """Everything an import could write."""
    return (
        list(Ticket.objects.order_by("pk").values_list("pk", "updated_at", "description")),
        TicketEvent.objects.count(),
        list(HotlineOrder.objects.order_by("pk").values_list("pk", "updated_at", "status")),
        list(TicketSequence.objects.values_list("day", "last")),
    )


def run(data: bytes, name: str, *, user, area):
    rows = read_table(data, name)
    return apply_import(rows, user=user, area=area)


def test_dry_run_reports_every_row_and_writes_nothing(world, staff, categories, sheet):
    before = snapshot()

    plan = plan_import(read_table(as_xlsx(sheet), "orders.xlsx"), user=staff, area=world.A)

    assert snapshot() == before
    by_line = {row.line: row for row in plan.rows}
    assert [(line, row.action) for line, row in sorted(by_line.items())] == [
        (2, "open"),
        (3, "open"),
        (4, "duplicate"),
        (5, "open"),
        (6, "stage"),
        (7, "stage"),
        (8, "stage"),
        (9, "stage"),
        (10, "refused"),
    ]
    assert by_line[2].grid == "微网格A1a"
    assert by_line[3].grid == "小区A2"
    assert "line 5" in by_line[4].reason or "5" in by_line[4].reason
    assert "外星人入侵" in by_line[6].reason
    assert "12345" in by_line[7].reason
    assert by_line[8].reason
    assert by_line[9].reason
    assert "来电时间" in by_line[10].reason
    assert plan.counts() == {
        "open": 3,
        "stage": 4,
        "update": 0,
        "unchanged": 0,
        "duplicate": 1,
        "refused": 1,
        "written": 7,
    }


def test_import_opens_tickets_and_lists_the_unplaceable(world, staff, categories, sheet):
    plan = run(as_xlsx(sheet), "orders.xlsx", user=staff, area=world.A)

    assert plan.counts()["written"] == 7
    tickets = {t.external_number: t for t in Ticket.objects.all()}
    assert sorted(tickets) == ["12345-0001", "12345-0002", "12345-0003"]
    first = tickets["12345-0001"]
    assert (first.channel, first.reporter, first.created_by) == (Channel.HOTLINE, None, staff)
    assert (first.reporter_name, first.reporter_phone) == ("王女士", "13912345678")
    assert first.grid == world.A1a
    assert first.category == categories["lighting"]
    assert first.title == "楼下路灯不亮"
    assert first.description == "楼下路灯不亮。已经一周了，晚上出行不便。"
    assert tickets["12345-0002"].grid == world.A2
    assert (tickets["12345-0002"].lat, tickets["12345-0002"].lng) == (30.2, 100.3)
    # the later line of the same order won, and only one ticket was opened for it
    assert tickets["12345-0003"].description == "第二次来电：噪音扰民，深夜施工"
    assert first.events.get().kind == "opened"

    listed = HotlineOrder.objects.filter(status=OrderStatus.UNPLACEABLE).order_by("pk")
    assert [(o.number, o.ticket_id) for o in listed] == [
        ("12345-0004", None),
        ("12345-0005", None),
        ("12345-0006", None),
        ("", None),
    ]
    assert all(o.reason for o in listed)
    assert listed[3].fingerprint
    assert HotlineOrder.objects.filter(status=OrderStatus.PLACED).count() == 3
    assert not HotlineOrder.objects.filter(number="12345-0007").exists()
    placed = HotlineOrder.objects.get(number="12345-0001")
    assert placed.ticket == first
    assert timezone.localtime(placed.called_at).isoformat() == "2026-11-20T09:30:00+08:00"
    assert placed.received_by == staff


@pytest.mark.parametrize(
    ("name", "encode"),
    [
        ("orders.xlsx", lambda rows: as_xlsx(rows)),
        ("orders.xlsx", lambda rows: as_xlsx(rows, typed=False)),
        ("orders.csv", lambda rows: as_csv(rows, encoding="utf-8-sig")),
        ("orders.csv", lambda rows: as_csv(rows, encoding="utf-8")),
        ("orders.csv", lambda rows: as_csv(rows, encoding="gbk")),
        ("ORDERS.CSV", lambda rows: as_csv(rows, encoding="gbk", header=ENGLISH)),
    ],
)
def test_every_format_gives_the_same_result(world, staff, categories, sheet, name, encode):
    plan = run(encode(sheet), name, user=staff, area=world.A)

    assert [(r.line, r.action) for r in plan.rows] == [
        (2, "open"),
        (3, "open"),
        (4, "duplicate"),
        (5, "open"),
        (6, "stage"),
        (7, "stage"),
        (8, "stage"),
        (9, "stage"),
        (10, "refused"),
    ]
    assert Ticket.objects.get(external_number="12345-0003").description.startswith("第二次")
    assert HotlineOrder.objects.get(number="12345-0001").caller == "王女士"


@pytest.mark.parametrize("second", ["orders.xlsx", "orders.csv"])
def test_importing_the_same_file_again_writes_nothing(world, staff, categories, sheet, second):
    run(as_xlsx(sheet), "orders.xlsx", user=staff, area=world.A)
    before = snapshot()
    data = as_xlsx(sheet) if second.endswith("xlsx") else as_csv(sheet, encoding="gbk")

    dry = plan_import(read_table(data, second), user=staff, area=world.A)
    plan = run(data, second, user=staff, area=world.A)

    assert snapshot() == before  # no ticket, no event, no updated_at moved
    for counts in (dry.counts(), plan.counts()):
        assert counts["written"] == 0
        assert counts["unchanged"] == 7
        assert (counts["duplicate"], counts["refused"]) == (1, 1)


def test_a_changed_row_updates_the_order_and_its_ticket(world, staff, categories, sheet):
    run(as_xlsx(sheet), "orders.xlsx", user=staff, area=world.A)
    ticket = Ticket.objects.get(external_number="12345-0001")
    events, tickets = ticket.events.count(), Ticket.objects.count()
    resolve_by = ticket.resolve_by
    deadline = timezone.localtime(ticket.created_at + datetime.timedelta(days=2))
    sheet[0] = order(
        "12345-0001",
        诉求内容="路灯仍然不亮！请尽快处理",
        联系电话="0971-8123456",
        办理时限=deadline.strftime("%Y-%m-%d %H:%M:%S"),
    )

    plan = run(as_xlsx(sheet), "orders.xlsx", user=staff, area=world.A)

    assert plan.rows[0].action == "update"
    # the report is written in the site's language (the import runs in the background)
    assert plan.rows[0].reason == "已变更：联系电话, 诉求内容, 办理时限。"
    assert plan.counts()["written"] == 1
    assert Ticket.objects.count() == tickets
    ticket.refresh_from_db()
    assert ticket.events.count() == events
    assert (ticket.title, ticket.description) == ("路灯仍然不亮", "路灯仍然不亮！请尽快处理")
    assert ticket.reporter_phone == "0971-8123456"
    assert ticket.resolve_by == deadline.replace(microsecond=0) < resolve_by
    assert ticket.respond_by <= ticket.resolve_by
    received = HotlineOrder.objects.get(number="12345-0001")
    assert (received.revisions, received.phone) == (1, "0971-8123456")

    # a later deadline never loosens ours
    sheet[0]["办理时限"] = "2030-01-01"
    run(as_xlsx(sheet), "orders.xlsx", user=staff, area=world.A)
    ticket.refresh_from_db()
    assert ticket.resolve_by == deadline.replace(microsecond=0)


def test_the_hotline_deadline_tightens_a_new_ticket(world, staff, categories):
    soon = timezone.localtime() + datetime.timedelta(hours=2)

    run(
        as_csv(
            [
                order("A-1", 办理时限=soon.strftime("%Y-%m-%d %H:%M:%S")),
                order("A-2", 办理时限=(soon + datetime.timedelta(days=30)).strftime("%Y-%m-%d")),
            ]
        ),
        "orders.csv",
        user=staff,
        area=world.A,
    )

    tight = Ticket.objects.get(external_number="A-1")
    assert tight.resolve_by == soon.replace(microsecond=0)
    assert tight.respond_by == soon.replace(microsecond=0)  # 4 h policy, 2 h hotline
    loose = Ticket.objects.get(external_number="A-2")
    assert loose.resolve_by - loose.created_at == datetime.timedelta(days=5)  # our policy


def test_a_listed_order_is_placed_when_its_row_is_fixed(world, staff, categories, sheet):
    run(as_xlsx(sheet), "orders.xlsx", user=staff, area=world.A)
    sheet[4] = order("12345-0004", 诉求分类="环境卫生")  # the hotline fixed the category

    plan = run(as_xlsx(sheet), "orders.xlsx", user=staff, area=world.A)

    assert [r.action for r in plan.rows if r.number == "12345-0004"] == ["open"]
    fixed = HotlineOrder.objects.get(number="12345-0004")
    assert fixed.status == OrderStatus.PLACED
    assert (fixed.ticket.category.code, fixed.reason) == ("sanitation", "")
    assert fixed.revisions == 1


def test_address_matching_prefers_the_fullest_path(world, staff, categories, make_user):
    from tests.grids.factories import make_grid

    twin = make_grid(world.A2, "micro", name="微网格A1a")  # the same name under 小区A2
    world.refresh()
    rows = [
        order("M-1", 地址="社区A 小区A2 微网格A1a 12号"),
        order("M-2", 地址="社区A小区A1微网格A1a"),
        order("M-3", 地址="某小区微网格A1a"),  # two grids with that name, nothing else
        order("M-4", 地址="社区B小区B1"),  # not alice's grids
    ]

    run(as_csv(rows), "orders.csv", user=staff, area=world.A)

    assert HotlineOrder.objects.get(number="M-1").ticket.grid == twin
    assert HotlineOrder.objects.get(number="M-2").ticket.grid == world.A1a
    ambiguous = HotlineOrder.objects.get(number="M-3")
    assert ambiguous.status == OrderStatus.UNPLACEABLE
    assert "微网格A1a" in ambiguous.reason
    assert HotlineOrder.objects.get(number="M-4").status == OrderStatus.UNPLACEABLE


def test_an_order_held_by_another_desk_is_refused(world, staff, betty, categories):
    run(as_csv([order("X-1")]), "orders.csv", user=staff, area=world.A)

    plan = run(
        as_csv([order("X-1", 地址="社区B小区B1", 诉求内容="改了")]),
        "orders.csv",
        user=betty,
        area=world.B,
    )

    assert plan.rows[0].action == "refused"
    assert HotlineOrder.objects.get(number="X-1").content != "改了"


# --- bad files ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "name", "message"),
    [
        (b"not a workbook", "orders.xlsx", "xlsx"),
        ("工单编号,地址\n1,某地\n".encode(), "orders.csv", "诉求内容"),
        (b"", "orders.csv", "empty"),
        (b"\xff\xfe\x00\x00\x81", "orders.csv", "GBK"),
        (b"whatever", "orders.txt", ".xlsx"),
    ],
)
def test_a_bad_file_is_refused_with_a_clear_error(world, staff, categories, data, name, message):
    with translation.override("en"), pytest.raises(ImportFileError) as refused:
        read_table(data, name)
    assert message in str(refused.value)


def test_a_bad_file_fails_its_job_and_writes_nothing(
    world, staff, categories, django_capture_on_commit_callbacks
):
    before = snapshot()
    upload = SimpleUploadedFile("orders.csv", "工单编号,电话\n1,2\n".encode("gbk"))

    with django_capture_on_commit_callbacks(execute=True):
        job = services.import_job_start(actor=staff, upload=upload, area=world.A)

    job.refresh_from_db()
    assert job.status == ImportStatus.FAILED
    assert "诉求内容" in job.error
    assert snapshot() == before
    assert not HotlineOrder.objects.exists()


def test_the_job_checks_first_and_applies_on_confirmation(
    world, staff, categories, sheet, django_capture_on_commit_callbacks
):
    upload = SimpleUploadedFile("orders.xlsx", as_xlsx(sheet))

    with django_capture_on_commit_callbacks(execute=True):
        job = services.import_job_start(actor=staff, upload=upload, area=world.A)

    job.refresh_from_db()
    assert job.status == ImportStatus.PLANNED
    assert job.counts["open"] == 3
    assert [r["action"] for r in job.report][:3] == ["open", "open", "duplicate"]
    assert not Ticket.objects.exists()

    with django_capture_on_commit_callbacks(execute=True):
        services.import_job_confirm(actor=staff, job=job)

    job.refresh_from_db()
    assert job.status == ImportStatus.APPLIED
    assert (job.processed_rows, job.total_rows) == (7, 7)
    assert job.counts["written"] == 7
    assert Ticket.objects.count() == 3
    assert job.report[0]["ticket"] == Ticket.objects.get(external_number="12345-0001").number
    with pytest.raises(Conflict):
        services.import_job_confirm(actor=staff, job=job)
    assert HotlineImport.objects.count() == 1
