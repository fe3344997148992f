"""Must-visit duties with a frozen clock, visits, and door-to-door campaigns."""

from __future__ import annotations

import datetime
import zoneinfo

import pytest
import time_machine
from django.core.exceptions import PermissionDenied

from governance.errors import Conflict
from residents import selectors, services
from residents.models import Campaign, CampaignStatus, CampaignTask, Household, Visit
from tests.conftest import requires_postgres, run_in_threads
from tests.grids.factories import superuser
from tests.residents.factories import make_household, make_resident

SHANGHAI = zoneinfo.ZoneInfo("Asia/Shanghai")
T0 = datetime.datetime(2026, 3, 2, 9, 0, tzinfo=SHANGHAI)


@pytest.fixture
def frozen_homes(world, tags):
    """Households created on 2 March: an elderly person alone (weekly), a 低保 family
    (monthly), and a family with no key group (no duty)."""
    with time_machine.travel(T0, tick=False):
        alone = make_household(world.A1, room="101")
        make_resident(alone, birth=datetime.date(1944, 1, 1), tags=[tags["elderly_alone"]])
        dibao = make_household(world.A1a, room="102")
        make_resident(dibao, birth=datetime.date(1970, 1, 1), tags=[tags["dibao"]])
        plain = make_household(world.A1, room="103")
        make_resident(plain, birth=datetime.date(1990, 1, 1))
    return alone, dibao, plain


def ids(queryset) -> list[int]:
    return [h.pk for h in queryset]


def test_due_and_overdue_oldest_first(frozen_homes, worker):
    alone, dibao, plain = frozen_homes
    assert Household.objects.get(pk=alone.pk).visit_due_on == datetime.date(2026, 3, 9)
    assert Household.objects.get(pk=dibao.pk).visit_due_on == datetime.date(2026, 4, 1)
    assert Household.objects.get(pk=plain.pk).visit_due_on is None

    with time_machine.travel(datetime.datetime(2026, 3, 7, 9, tzinfo=SHANGHAI), tick=False):
        assert ids(selectors.duty_list(user=worker, status="due")) == [alone.pk]
        assert ids(selectors.duty_list(user=worker, status="overdue")) == []
    with time_machine.travel(datetime.datetime(2026, 4, 3, 9, tzinfo=SHANGHAI), tick=False):
        assert ids(selectors.duty_list(user=worker, status="overdue")) == [alone.pk, dibao.pk]
        assert ids(selectors.duty_list(user=worker)) == [alone.pk, dibao.pk]


def test_a_visit_restarts_the_clock(frozen_homes, worker):
    alone, _dibao, _plain = frozen_homes
    with time_machine.travel(datetime.datetime(2026, 3, 12, 10, tzinfo=SHANGHAI), tick=False):
        assert ids(selectors.duty_list(user=worker, status="overdue")) == [alone.pk]
        services.visit_log(actor=worker, household=alone, kind="must_visit", findings="身体好")
        assert ids(selectors.duty_list(user=worker, status="overdue")) == []
    assert Household.objects.get(pk=alone.pk).visit_due_on == datetime.date(2026, 3, 19)


def test_moving_out_ends_the_duty(frozen_homes, staff):
    alone = frozen_homes[0]
    resident = alone.residents.get()
    services.resident_update(actor=staff, resident=resident, living_status="moved_out")
    assert Household.objects.get(pk=alone.pk).visit_due_on is None


def test_duties_api(frozen_homes, worker, api_client_for):
    client = api_client_for(worker)
    with time_machine.travel(datetime.datetime(2026, 4, 3, 9, tzinfo=SHANGHAI), tick=False):
        response = client.get("/api/v1/households/duties/", {"status": "overdue"})
        assert response.status_code == 200
        assert [r["id"] for r in response.json()["results"]] == [h.pk for h in frozen_homes[:2]]
        assert response.json()["results"][0]["duty_status"] == "overdue"
        assert client.get("/api/v1/households/duties/", {"status": "soon"}).status_code == 400


def test_visit_api_and_refusals(homes, worker, outsider, api_client_for):
    client = api_client_for(worker)
    response = client.post(
        "/api/v1/visits/",
        {"household": homes["h1"].pk, "findings": "独居老人状况良好"},
        format="json",
    )
    assert response.status_code == 201, response.json()
    assert Visit.objects.get().visitor == worker
    future = client.post(
        "/api/v1/visits/",
        {"household": homes["h1"].pk, "visited_at": "2999-01-01T00:00:00+08:00"},
        format="json",
    )
    assert future.status_code == 400
    other = api_client_for(outsider).post(
        "/api/v1/visits/", {"household": homes["h1"].pk}, format="json"
    )
    assert other.status_code == 400  # not a household charlie can see
    assert Visit.objects.count() == 1


# --- campaigns ---------------------------------------------------------------------------------


def test_campaign_tasks_are_exactly_the_subtree_households(homes, staff, world):
    campaign = services.campaign_start(
        actor=staff,
        grid=world.A1,
        title="疫情敲门排查",
        deadline=datetime.datetime(2099, 1, 1, tzinfo=SHANGHAI),
        checklist="发热吗？\n外出过吗？",
    )
    tasks = CampaignTask.objects.filter(campaign=campaign)
    assert sorted(t.household_id for t in tasks) == sorted([homes["h1"].pk, homes["h2"].pk])
    assert campaign.checklist == ["发热吗？", "外出过吗？"]


def test_only_staff_start_campaigns(homes, worker, world):
    with pytest.raises(PermissionDenied):
        services.campaign_start(
            actor=worker,
            grid=world.A1,
            title="x",
            deadline=datetime.datetime(2099, 1, 1, tzinfo=SHANGHAI),
        )


def test_recording_tasks_progress_and_auto_close(
    homes, staff, worker, world, api_client_for, django_capture_on_commit_callbacks
):
    client = api_client_for(staff)
    created = client.post(
        "/api/v1/campaigns/",
        {
            "title": "一键激活",
            "grid": world.A.pk,
            "deadline": "2099-01-01T00:00:00+08:00",
            "checklist": ["家中几人？"],
        },
        format="json",
    )
    assert created.status_code == 201, created.json()
    campaign_id = created.json()["id"]
    assert created.json()["task_count"] == 3

    bob = api_client_for(worker)
    my_tasks = bob.get("/api/v1/campaign-tasks/", {"campaign": campaign_id}).json()["results"]
    assert {t["household"] for t in my_tasks} == {homes["h1"].pk, homes["h2"].pk}
    first = my_tasks[0]["id"]
    done = bob.post(
        f"/api/v1/campaign-tasks/{first}/record/", {"answers": {"家中几人？": "2"}}, format="json"
    )
    assert done.status_code == 200
    again = bob.post(f"/api/v1/campaign-tasks/{first}/record/", {}, format="json")
    assert again.status_code == 409
    bad = bob.post(
        f"/api/v1/campaign-tasks/{my_tasks[1]['id']}/record/",
        {"answers": {"别的问题": "x"}},
        format="json",
    )
    assert bad.status_code == 400

    progress = client.get(f"/api/v1/campaigns/{campaign_id}/progress/").json()
    assert {(p["grid"], p["total"], p["done"]) for p in progress} == {
        (world.A1.pk, 1, 1),
        (world.A1a.pk, 1, 0),
        (world.A2.pk, 1, 0),
    }
    # bob sees the campaign (it covers his grid) but only his part of its progress
    assert {p["grid"] for p in bob.get(f"/api/v1/campaigns/{campaign_id}/progress/").json()} == {
        world.A1.pk,
        world.A1a.pk,
    }

    # the last two knocks close the campaign by themselves
    for task in CampaignTask.objects.filter(campaign_id=campaign_id, done_at__isnull=True):
        with django_capture_on_commit_callbacks(execute=True):
            services.campaign_task_record(actor=superuser(), task=task)
    campaign = Campaign.objects.get(pk=campaign_id)
    assert campaign.status == CampaignStatus.CLOSED
    assert campaign.report["done"] == 3
    assert campaign.report["missed"] == []


def test_deadline_sweep_closes_with_a_report_of_the_missed(homes, staff, world):
    with time_machine.travel(T0, tick=False):
        campaign = services.campaign_start(
            actor=staff,
            grid=world.A,
            title="入户走访",
            deadline=T0 + datetime.timedelta(days=2),
        )
    task = campaign.tasks.get(household=homes["h1"])
    services.campaign_task_record(actor=staff, task=task)
    assert services.campaigns_close_expired(now=T0 + datetime.timedelta(days=1)) == 0
    assert services.campaigns_close_expired(now=T0 + datetime.timedelta(days=3)) == 1
    assert services.campaigns_close_expired(now=T0 + datetime.timedelta(days=3)) == 0
    report = Campaign.objects.get(pk=campaign.pk).report
    assert report["total"] == 3
    assert report["done"] == 1
    assert {m["household"] for m in report["missed"]} == {homes["h2"].pk, homes["h3"].pk}
    with pytest.raises(Conflict):
        services.campaign_task_record(actor=staff, task=campaign.tasks.get(household=homes["h2"]))


@requires_postgres
@pytest.mark.django_db(transaction=True)
def test_two_workers_at_one_door_leave_one_visit(world, tags, make_user):
    # given
    from grids.models import AssignmentRole
    from tests.grids.factories import assign

    household = make_household(world.A1, room="808")
    campaign = services.campaign_start(
        actor=superuser(),
        grid=world.A1,
        title="敲门",
        deadline=datetime.datetime(2099, 1, 1, tzinfo=SHANGHAI),
    )
    task = campaign.tasks.get(household=household)
    workers = [make_user(f"w{i}") for i in range(2)]
    for w in workers:
        assign(w, world.A1, AssignmentRole.FULL_TIME_WORKER)
    outcomes: list[str] = []

    def knock(i: int) -> None:
        try:
            services.campaign_task_record(actor=workers[i], task=task)
            outcomes.append("recorded")
        except Conflict:
            outcomes.append("conflict")

    # when
    errors = run_in_threads(2, knock)

    # then
    assert errors == []
    assert sorted(outcomes) == ["conflict", "recorded"]
    assert Visit.objects.filter(household=household).count() == 1
