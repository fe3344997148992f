"""The grid workers' phone pages, through their real URLs: my households, the archive with
its visit form and reveal, my due visits, my campaign tasks.

The default language is Chinese and the residents app has no translations yet, so tests
assert values (names, numbers, CSS classes) or ask for English when they read a label.
"""

from __future__ import annotations

import datetime
import io
import re
import zoneinfo

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from PIL import Image

from grids.models import AssignmentRole
from residents import services
from residents.models import (
    Campaign,
    CampaignStatus,
    CampaignTask,
    Household,
    PersonalDataAccess,
    Visit,
    VisitKind,
)
from tests.grids.factories import assign, superuser
from tests.residents.factories import make_household, make_resident

SHANGHAI = zoneinfo.ZoneInfo("Asia/Shanghai")
EN = {"HTTP_ACCEPT_LANGUAGE": "en"}


@pytest.fixture(autouse=True)
def _media_in_tmp(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.fixture
def part_timer(world, make_user):
    """Erin: a part-time grid worker on estate A1 (may visit, may not read personal data)."""
    erin = make_user("erin")
    assign(erin, world.A1, AssignmentRole.PART_TIME_WORKER)
    return erin


@pytest.fixture
def overdue(homes):
    """h1 (王大爷 alone, weekly visits) was archived 30 days ago and never visited: overdue.
    h2 (李阿姨, 低保) is due tomorrow."""
    h1, h2 = homes["h1"], homes["h2"]
    Household.objects.filter(pk=h1.pk).update(
        created_at=timezone.now() - datetime.timedelta(days=30)
    )
    h1 = Household.objects.get(pk=h1.pk)
    services.household_refresh_duty(h1)
    tomorrow = timezone.localdate() + datetime.timedelta(days=1)
    Household.objects.filter(pk=h2.pk).update(visit_due_on=tomorrow)
    return homes


@pytest.fixture
def campaign(homes, staff, world):
    return services.campaign_start(
        actor=staff,
        grid=world.A,
        title="疫情敲门排查",
        deadline=datetime.datetime(2099, 1, 1, tzinfo=SHANGHAI),
        checklist=["家中几人？", "有人发热吗？"],
    )


def png_upload(name: str = "door.png") -> SimpleUploadedFile:
    buffer = io.BytesIO()
    Image.new("RGB", (4, 4), "red").save(buffer, format="PNG")
    return SimpleUploadedFile(name, buffer.getvalue(), content_type="image/png")


def archive_url(household) -> str:
    return f"/residents/households/{household.pk}/"


def body_of(response) -> str:
    return response.content.decode()


# --- login and layout ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "url",
    [
        "/residents/",
        "/residents/households/1/",
        "/residents/due/",
        "/residents/campaign-tasks/",
        "/residents/campaign-tasks/1/",
    ],
)
def test_pages_need_login(client, db, url):
    response = client.get(url)
    assert response.status_code == 302
    assert "/accounts/login/" in response["Location"]


@pytest.mark.parametrize("url", ["/residents/households/1/visits/", "/residents/people/1/reveal/"])
def test_writes_need_login(client, db, url):
    response = client.post(url)
    assert response.status_code == 302
    assert "/accounts/login/" in response["Location"]


def test_field_pages_share_a_light_layout(client, overdue, campaign, worker):
    client.force_login(worker)
    task = CampaignTask.objects.get(campaign=campaign, household=overdue["h1"])
    for url in [
        "/residents/",
        archive_url(overdue["h1"]),
        "/residents/due/",
        "/residents/campaign-tasks/",
        f"/residents/campaign-tasks/{task.pk}/",
    ]:
        body = body_of(client.get(url, **EN))
        assert "css/field.css" in body
        assert not re.search(r"<script(?![^>]*\bsrc=)", body)  # scripts as files (CSP)
        assert 'style="' not in body
        for label in ("My households", "Visits due", "Campaign tasks"):
            assert label in body, (url, label)


# --- my households ------------------------------------------------------------------------------


def test_my_households_lists_my_grids_with_heads_counts_and_badges(client, overdue, worker):
    client.force_login(worker)
    response = client.get("/residents/", **EN)
    assert response.status_code == 200
    body = body_of(response)
    assert "王大爷" in body
    assert "李阿姨" in body
    assert "赵先生" not in body  # h3 is in sibling estate A2
    assert "1 person" in body
    assert 'class="badge overdue">Overdue<' in body
    assert 'class="badge due">Due<' in body
    assert archive_url(overdue["h1"]) in body


def test_search_finds_a_household_by_a_residents_name(client, homes, worker):
    client.force_login(worker)
    body = body_of(client.get("/residents/", {"q": "李阿姨"}))
    assert archive_url(homes["h2"]) in body
    assert archive_url(homes["h1"]) not in body


def test_search_by_room_and_by_several_words(client, homes, worker):
    client.force_login(worker)
    body = body_of(client.get("/residents/", {"q": "301"}))
    assert archive_url(homes["h1"]) in body
    assert archive_url(homes["h2"]) not in body
    body = body_of(client.get("/residents/", {"q": "王 301"}))
    assert archive_url(homes["h1"]) in body
    body = body_of(client.get("/residents/", {"q": "赵先生"}))
    assert archive_url(homes["h3"]) not in body  # outside bob's grids, even by name


def test_search_without_a_match_and_without_households(client, homes, worker, world, make_user):
    client.force_login(worker)
    body = body_of(client.get("/residents/", {"q": "没有这个人"}, **EN))
    assert "No household matches “没有这个人”." in body

    newcomer = make_user("newcomer")
    assign(newcomer, world.T2, AssignmentRole.FULL_TIME_WORKER)
    client.force_login(newcomer)
    body = body_of(client.get("/residents/", **EN))
    assert "No households yet" in body


def test_my_households_is_paginated_by_25(client, world, worker, tags):
    for room in range(30):
        make_household(world.A1, room=f"{room + 1:03d}")
    client.force_login(worker)
    first = body_of(client.get("/residents/", **EN))
    assert first.count('<li><a href="/residents/households/') == 25
    assert "Page 1 of 2" in first
    second = body_of(client.get("/residents/", {"page": 2}, **EN))
    assert second.count('<li><a href="/residents/households/') == 5


def _households_with_people(grid, count: int) -> None:
    for _ in range(count):
        household = make_household(grid, building="12", unit="3")
        make_resident(household, relation="head", phone="13800001111")
        make_resident(household, relation="spouse", gender="female")


def test_households_query_count_does_not_grow_with_rows(client, world, worker, tags):
    client.force_login(worker)
    _households_with_people(world.A1, 3)
    with CaptureQueriesContext(connection) as few:
        assert client.get("/residents/").status_code == 200
    _households_with_people(world.A1a, 17)
    with CaptureQueriesContext(connection) as many:
        assert client.get("/residents/").status_code == 200
    assert len(many) == len(few)


def test_households_page_is_small(client, world, worker, tags):
    _households_with_people(world.A1, 26)
    client.force_login(worker)
    response = client.get("/residents/")
    assert body_of(response).count('<li><a href="/residents/households/') == 25
    assert len(response.content) < 30 * 1024


# --- the archive --------------------------------------------------------------------------------


def test_archive_shows_people_masked_tags_and_elderly_flag(client, overdue, worker):
    wang = overdue["wang"]
    client.force_login(worker)
    response = client.get(archive_url(overdue["h1"]), **EN)
    assert response.status_code == 200
    body = body_of(response)
    assert "王大爷" in body
    assert "小区A1" in body  # the grid
    assert "138****5678" in body  # household phone, masked
    assert "139****4321" in body  # resident phone, masked
    assert "13987654321" not in body
    assert wang.id_number_masked in body
    assert wang.reveal_id_number() not in body
    assert "独居老人" in body  # key-group tag
    assert ">60+<" in body
    assert f"{wang.age()} years old" in body
    assert "Male" in body
    assert "Head of household" in body
    assert "Living here" in body
    assert 'class="badge overdue"' in body
    assert "No visits yet." in body


def test_archive_of_another_grid_is_404(client, homes, worker, outsider):
    client.force_login(outsider)
    assert client.get(archive_url(homes["h1"])).status_code == 404
    client.force_login(worker)
    assert client.get(archive_url(homes["h3"])).status_code == 404
    assert client.get("/residents/households/999999/").status_code == 404


def test_archive_of_a_lead_household_lists_its_linked_households(client, homes, worker, staff):
    lead = services.household_update(actor=staff, household=homes["h1"], is_party_lead=True)
    services.household_update(actor=staff, household=homes["h2"], lead_household=lead)
    client.force_login(worker)
    body = body_of(client.get(archive_url(homes["h1"]), **EN))
    assert "Linked households" in body
    assert "Party-member lead household" in body
    assert archive_url(homes["h2"]) in body
    linked = body_of(client.get(archive_url(homes["h2"]), **EN))
    assert "Looked after by" in linked


def test_archive_lists_the_latest_visits(client, homes, worker):
    services.visit_log(actor=worker, household=homes["h1"], findings="老人身体硬朗")
    client.force_login(worker)
    body = body_of(client.get(archive_url(homes["h1"])))
    assert "老人身体硬朗" in body
    assert str(worker) in body


# --- reveal -------------------------------------------------------------------------------------


def test_reveal_shows_the_whole_phone_uncached_and_logs_it(client, homes, worker):
    wang = homes["wang"]
    client.force_login(worker)
    archive = body_of(client.get(archive_url(homes["h1"])))
    assert f'action="/residents/people/{wang.pk}/reveal/"' in archive

    response = client.post(f"/residents/people/{wang.pk}/reveal/")

    assert response.status_code == 200
    body = body_of(response)
    assert 'href="tel:13987654321"' in body
    assert wang.reveal_id_number() not in body  # a grid worker needs the phone, not the ID
    assert "no-store" in response["Cache-Control"]
    access = PersonalDataAccess.objects.get()
    assert (access.user, access.resident, access.fields) == (worker, wang, "phone")
    assert access.path == f"/residents/people/{wang.pk}/reveal/"


def test_staff_reveal_the_id_number_too(client, homes, staff):
    wang = homes["wang"]
    client.force_login(staff)
    body = body_of(client.post(f"/residents/people/{wang.pk}/reveal/"))
    assert wang.reveal_id_number() in body
    assert "13987654321" in body
    assert PersonalDataAccess.objects.get().fields == "id_number,phone"


def test_part_time_worker_sees_no_reveal_button_and_is_refused(client, homes, part_timer):
    wang = homes["wang"]
    client.force_login(part_timer)
    archive = client.get(archive_url(homes["h1"]))
    assert archive.status_code == 200
    assert "/reveal/" not in body_of(archive)
    assert client.post(f"/residents/people/{wang.pk}/reveal/").status_code == 403
    assert not PersonalDataAccess.objects.exists()


def test_reveal_of_another_grid_is_404_and_get_is_refused(client, homes, worker, outsider):
    client.force_login(outsider)
    assert client.post(f"/residents/people/{homes['wang'].pk}/reveal/").status_code == 404
    client.force_login(worker)
    assert client.get(f"/residents/people/{homes['wang'].pk}/reveal/").status_code == 405
    assert not PersonalDataAccess.objects.exists()


# --- logging a visit ----------------------------------------------------------------------------


def test_archive_preselects_the_must_visit_when_one_is_owed(client, overdue, worker):
    client.force_login(worker)
    body = body_of(client.get(archive_url(overdue["h1"])))
    assert 'value="must_visit" id="id_kind_1" required checked' in body
    assert 'enctype="multipart/form-data"' in body
    assert 'capture="environment"' in body


def test_logging_a_visit_from_the_archive(client, overdue, worker):
    h1 = overdue["h1"]
    before = Household.objects.get(pk=h1.pk).visit_due_on
    assert before < timezone.localdate()
    client.force_login(worker)

    response = client.post(
        f"/residents/households/{h1.pk}/visits/",
        {"kind": "must_visit", "findings": "老人身体硬朗", "photo": png_upload()},
        **EN,
    )

    assert response.status_code == 302
    assert response["Location"] == archive_url(h1)
    visit = Visit.objects.get()
    assert (visit.household, visit.visitor, visit.kind) == (h1, worker, VisitKind.MUST_VISIT)
    assert visit.findings == "老人身体硬朗"
    assert visit.photo.name.startswith("visits/")
    after = Household.objects.get(pk=h1.pk).visit_due_on
    assert after == timezone.localdate() + datetime.timedelta(days=7)
    page = body_of(client.get(response["Location"], **EN))
    assert "Visit recorded." in page
    assert "老人身体硬朗" in page


def test_a_bad_photo_is_shown_on_the_form_and_nothing_is_saved(client, overdue, worker):
    h1 = overdue["h1"]
    before = Household.objects.get(pk=h1.pk).visit_due_on
    client.force_login(worker)
    not_an_image = SimpleUploadedFile("door.jpg", b"not a picture", content_type="image/jpeg")

    response = client.post(
        f"/residents/households/{h1.pk}/visits/",
        {"kind": "routine", "findings": "门口有杂物", "photo": not_an_image},
        **EN,
    )

    assert response.status_code == 200
    body = body_of(response)
    assert 'class="errorlist' in body
    assert "Upload a valid image" in body
    assert "门口有杂物" in body  # what was typed is kept
    assert not Visit.objects.exists()
    assert Household.objects.get(pk=h1.pk).visit_due_on == before


def test_a_campaign_kind_is_refused_on_the_archive(client, homes, worker):
    client.force_login(worker)
    response = client.post(f"/residents/households/{homes['h1'].pk}/visits/", {"kind": "campaign"})
    assert response.status_code == 200
    assert 'class="errorlist' in body_of(response)
    assert not Visit.objects.exists()


def test_visit_form_only_for_those_who_may_visit(client, homes, leader, outsider):
    client.force_login(leader)  # a district leader reads archives but does not knock
    body = body_of(client.get(archive_url(homes["h1"])))
    assert "王大爷" in body
    assert "/visits/" not in body
    assert (
        client.post(f"/residents/households/{homes['h1'].pk}/visits/", {"kind": "routine"})
    ).status_code == 403
    client.force_login(outsider)
    assert (
        client.post(f"/residents/households/{homes['h1'].pk}/visits/", {"kind": "routine"})
    ).status_code == 404
    assert not Visit.objects.exists()


def test_part_time_worker_logs_visits(client, homes, part_timer):
    client.force_login(part_timer)
    response = client.post(f"/residents/households/{homes['h2'].pk}/visits/", {"kind": "routine"})
    assert response.status_code == 302
    assert Visit.objects.get().visitor == part_timer


# --- visits due ---------------------------------------------------------------------------------


def test_visits_due_overdue_first_then_due(client, overdue, worker):
    client.force_login(worker)
    response = client.get("/residents/due/", **EN)
    assert response.status_code == 200
    body = body_of(response)
    h1_at = body.index(archive_url(overdue["h1"]))
    h2_at = body.index(archive_url(overdue["h2"]))
    assert h1_at < h2_at
    assert h1_at < body.index('class="badge overdue"') < h2_at < body.index('class="badge due"')
    assert "王大爷" in body
    due_day = Household.objects.get(pk=overdue["h2"].pk).visit_due_on
    assert f"due {due_day:%Y-%m-%d}" in body


def test_visits_due_empty_state_and_scope(client, overdue, outsider, worker):
    client.force_login(outsider)
    body = body_of(client.get("/residents/due/", **EN))
    assert "No visit is due" in body
    assert "王大爷" not in body

    # once both are visited, nothing is due for bob either
    for household in (overdue["h1"], overdue["h2"]):
        services.visit_log(actor=worker, household=household)
    client.force_login(worker)
    assert "No visit is due" in body_of(client.get("/residents/due/", **EN))


# --- campaign tasks -----------------------------------------------------------------------------


def test_my_campaign_tasks(client, campaign, homes, worker):
    client.force_login(worker)
    response = client.get("/residents/campaign-tasks/", **EN)
    assert response.status_code == 200
    body = body_of(response)
    assert "疫情敲门排查" in body
    assert "0 of 3 households visited" in body
    assert "2 households left for you" in body
    for household in (homes["h1"], homes["h2"]):
        task = CampaignTask.objects.get(campaign=campaign, household=household)
        assert f"/residents/campaign-tasks/{task.pk}/" in body
    h3_task = CampaignTask.objects.get(campaign=campaign, household=homes["h3"])
    assert f"/residents/campaign-tasks/{h3_task.pk}/" not in body


def test_campaign_tasks_empty_states(client, campaign, homes, worker, outsider):
    client.force_login(outsider)
    assert "No campaign is running on your grids." in body_of(
        client.get("/residents/campaign-tasks/", **EN)
    )
    for task in CampaignTask.objects.filter(campaign=campaign, grid__name__startswith="小区A1"):
        services.campaign_task_record(actor=superuser(), task=task)
    for task in CampaignTask.objects.filter(campaign=campaign, grid__name__startswith="微网格"):
        services.campaign_task_record(actor=superuser(), task=task)
    client.force_login(worker)
    body = body_of(client.get("/residents/campaign-tasks/", **EN))
    assert "You have knocked on every door of these campaigns." in body


def test_recording_a_campaign_task_once(client, campaign, homes, worker, make_user, world):
    task = CampaignTask.objects.get(campaign=campaign, household=homes["h1"])
    url = f"/residents/campaign-tasks/{task.pk}/"
    client.force_login(worker)
    form = body_of(client.get(url))
    assert "家中几人？" in form
    assert "有人发热吗？" in form

    response = client.post(url, {"answer_0": "1", "answer_1": "", "findings": "一切正常"})

    assert response.status_code == 302
    assert response["Location"] == "/residents/campaign-tasks/"
    visit = Visit.objects.get()
    assert (visit.visitor, visit.kind, visit.household) == (worker, VisitKind.CAMPAIGN, homes["h1"])
    assert visit.answers == {"家中几人？": "1"}
    assert CampaignTask.objects.get(pk=task.pk).visit == visit
    listing = body_of(client.get("/residents/campaign-tasks/", **EN))
    assert "1 household left for you" in listing
    assert url not in listing

    # a colleague on the same estate, with the page still open, is told plainly
    colleague = make_user("frank")
    assign(colleague, world.A1, AssignmentRole.FULL_TIME_WORKER)
    client.force_login(colleague)
    again = client.post(url, {"answer_0": "3"}, **EN)
    assert again.status_code == 409
    assert "This household was already visited in this campaign." in body_of(again)
    assert "Back to my campaign tasks" in body_of(again)
    assert Visit.objects.count() == 1
    # and opening the task afterwards shows it done, with no form
    done = body_of(client.get(url, **EN))
    assert "This household was visited on" in done
    assert '<form method="post" enctype' not in done


def test_recording_in_a_closed_campaign_is_a_clear_message(client, campaign, homes, worker):
    task = CampaignTask.objects.get(campaign=campaign, household=homes["h2"])
    services.campaign_close(campaign=campaign)
    client.force_login(worker)
    response = client.post(f"/residents/campaign-tasks/{task.pk}/", {}, **EN)
    assert response.status_code == 409
    assert "This campaign is closed." in body_of(response)
    assert not Visit.objects.exists()
    assert Campaign.objects.get(pk=campaign.pk).status == CampaignStatus.CLOSED


def test_a_bad_photo_on_a_campaign_task_saves_nothing(client, campaign, homes, worker):
    task = CampaignTask.objects.get(campaign=campaign, household=homes["h1"])
    client.force_login(worker)
    bad = SimpleUploadedFile("x.png", b"garbage", content_type="image/png")
    response = client.post(f"/residents/campaign-tasks/{task.pk}/", {"answer_0": "2", "photo": bad})
    assert response.status_code == 200
    assert 'class="errorlist' in body_of(response)
    assert not Visit.objects.exists()
    assert CampaignTask.objects.get(pk=task.pk).done_at is None


def test_campaign_task_of_another_grid_is_404(client, campaign, homes, worker, outsider):
    task = CampaignTask.objects.get(campaign=campaign, household=homes["h3"])
    client.force_login(worker)
    assert client.get(f"/residents/campaign-tasks/{task.pk}/").status_code == 404
    assert client.post(f"/residents/campaign-tasks/{task.pk}/", {}).status_code == 404
    assert not Visit.objects.exists()


def test_a_leader_reads_campaign_tasks_but_records_none(client, campaign, homes, leader):
    task = CampaignTask.objects.get(campaign=campaign, household=homes["h1"])
    client.force_login(leader)
    body = body_of(client.get(f"/residents/campaign-tasks/{task.pk}/", **EN))
    assert "Your role does not record visits on this grid." in body
    assert client.post(f"/residents/campaign-tasks/{task.pk}/", {}).status_code == 403
    assert not Visit.objects.exists()


# --- cost and safety ----------------------------------------------------------------------------


def test_archive_query_count_does_not_grow_with_people_or_visits(client, homes, worker, tags):
    h1 = homes["h1"]
    client.force_login(worker)
    with CaptureQueriesContext(connection) as few:
        assert client.get(archive_url(h1)).status_code == 200
    for _ in range(4):
        make_resident(h1, relation="child", tags=[tags["dibao"]])
        services.visit_log(actor=worker, household=h1, findings="走访")
    with CaptureQueriesContext(connection) as many:
        assert client.get(archive_url(h1)).status_code == 200
    assert len(many) == len(few)


def test_forms_carry_the_csrf_token(homes, worker):
    client = Client(enforce_csrf_checks=True)
    client.force_login(worker)
    wang = homes["wang"]
    assert client.post(f"/residents/people/{wang.pk}/reveal/").status_code == 403
    archive = client.get(archive_url(homes["h1"]))
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', body_of(archive)).group(1)
    response = client.post(f"/residents/people/{wang.pk}/reveal/", {"csrfmiddlewaretoken": token})
    assert response.status_code == 200
    assert PersonalDataAccess.objects.count() == 1


def test_visit_photos_are_served_only_within_scope(client, homes, worker, outsider):
    visit = services.visit_log(actor=worker, household=homes["h1"], photo=png_upload())
    client.force_login(worker)
    assert f"/residents/visits/{visit.pk}/photo/" in body_of(client.get(archive_url(homes["h1"])))
    response = client.get(f"/residents/visits/{visit.pk}/photo/")
    assert response.status_code == 200
    assert response["Content-Type"] == "image/png"
    assert "private" in response["Cache-Control"]
    assert b"".join(response.streaming_content).startswith(b"\x89PNG")
    client.force_login(outsider)
    assert client.get(f"/residents/visits/{visit.pk}/photo/").status_code == 404


def test_search_text_is_escaped(client, homes, worker):
    client.force_login(worker)
    body = body_of(client.get("/residents/", {"q": "<b>x</b>"}))
    assert "<b>x</b>" not in body
    assert "&lt;b&gt;x&lt;/b&gt;" in body
