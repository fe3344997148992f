"""The field forms as the offline queue sends them: each carries an idempotency key, so a
form sent twice (a retried sync, a lost answer) is answered as the first time and makes
one visit, one report, one claim. Also the time a visit made offline was made."""

from __future__ import annotations

import datetime
import io
import uuid

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.utils import timezone
from PIL import Image

from residents.models import CampaignTask, Visit
from tests.tickets.factories import open_ticket
from tickets.models import EventKind, Ticket, TicketEvent, TicketStatus

EN = {"HTTP_ACCEPT_LANGUAGE": "en"}


def key() -> str:
    return str(uuid.uuid4())


def jpeg(name: str = "lamp.jpg") -> SimpleUploadedFile:
    buffer = io.BytesIO()
    Image.new("RGB", (64, 48), (120, 80, 40)).save(buffer, "JPEG")
    return SimpleUploadedFile(name, buffer.getvalue(), content_type="image/jpeg")


def queue_client(user) -> tuple[Client, str]:
    """A client as the offline queue is: CSRF checked, a fresh token from /pwa/session/."""
    client = Client(enforce_csrf_checks=True)
    client.force_login(user)
    return client, client.get("/pwa/session/").json()["csrf"]


# --- the forms carry keys ----------------------------------------------------------------------


def test_field_forms_carry_a_key_and_may_wait(
    client, worker, homes, campaign, errands, frank, world
):
    open_ticket(category=errands, grid=world.A1a, reporter=frank)
    task = CampaignTask.objects.get(campaign=campaign, household=homes["h1"])
    client.force_login(worker)
    for url in (
        f"/residents/households/{homes['h1'].pk}/",
        f"/residents/campaign-tasks/{task.pk}/",
        "/tickets/report/",
        "/tickets/board/",
    ):
        body = client.get(url).content.decode()
        assert 'data-offline="queue"' in body, url
        assert 'name="idempotency_key"' in body, url


def test_the_archive_visit_form_says_when_the_visit_was_made(client, worker, homes):
    client.force_login(worker)
    body = client.get(f"/residents/households/{homes['h1'].pk}/").content.decode()
    assert 'name="visited_at"' in body


def test_a_report_without_an_account_cannot_wait_on_the_phone(client, db, world):
    from tests.tickets.factories import make_category

    make_category(name="路面坑洼", anonymous=True)
    body = client.get("/tickets/report/").content.decode()
    assert 'name="idempotency_key"' in body  # a retry online is still safe
    assert 'data-offline="queue"' not in body


def test_revealing_personal_data_never_waits(client, worker, homes):
    client.force_login(worker)
    body = client.get(f"/residents/households/{homes['h1'].pk}/").content.decode()
    reveal = body[body.index('class="reveal"') - 80 : body.index('class="reveal"') + 200]
    assert "data-offline" not in reveal


# --- replays -----------------------------------------------------------------------------------


def test_a_visit_sent_twice_is_one_visit(worker, homes):
    client, csrf = queue_client(worker)
    url = f"/residents/households/{homes['h1'].pk}/visits/"
    form = {"kind": "routine", "findings": "离线记录", "idempotency_key": key()}

    first = client.post(url, {**form, "csrfmiddlewaretoken": csrf})
    # the phone signed out and in again meanwhile: another token, the same key
    client.logout()
    client.force_login(worker)
    fresh = client.get("/pwa/session/").json()["csrf"]
    again = client.post(url, {**form, "csrfmiddlewaretoken": fresh})

    assert (first.status_code, again.status_code) == (302, 302)
    assert again["Location"] == first["Location"]
    assert again["Idempotent-Replayed"] == "true"
    assert Visit.objects.count() == 1


def test_the_header_key_works_as_the_field_does(worker, homes):
    client, csrf = queue_client(worker)
    url = f"/residents/households/{homes['h1'].pk}/visits/"
    same = key()
    for _ in range(2):
        response = client.post(
            url,
            {"kind": "routine", "csrfmiddlewaretoken": csrf},
            HTTP_IDEMPOTENCY_KEY=same,
            HTTP_X_CSRFTOKEN=csrf,
        )
        assert response.status_code == 302
    assert Visit.objects.count() == 1


def test_a_report_with_its_photo_sent_twice_is_one_ticket(worker, world, hazard):
    client, csrf = queue_client(worker)
    same = key()
    form = {
        "category": hazard.pk,
        "title": "井盖缺失",
        "grid": world.A1a.pk,
        "idempotency_key": same,
        "csrfmiddlewaretoken": csrf,
    }

    first = client.post("/tickets/report/", {**form, "photos": jpeg()})
    again = client.post("/tickets/report/", {**form, "photos": jpeg()})

    assert (first.status_code, again.status_code) == (302, 302)
    assert again["Location"] == first["Location"]
    ticket = Ticket.objects.get()
    assert ticket.photos.count() == 1
    assert TicketEvent.objects.filter(ticket=ticket, kind=EventKind.OPENED).count() == 1


def test_the_same_key_for_another_report_is_a_conflict(worker, world, hazard):
    client, csrf = queue_client(worker)
    form = {"category": hazard.pk, "grid": world.A1a.pk, "csrfmiddlewaretoken": csrf}
    same = key()
    client.post("/tickets/report/", {**form, "title": "井盖缺失", "idempotency_key": same})

    other = client.post("/tickets/report/", {**form, "title": "路灯不亮", "idempotency_key": same})

    assert other.status_code == 409
    assert other.json()["detail"] == "此幂等键已用于另一个不同的请求。"  # zh-hans by default
    assert list(Ticket.objects.values_list("title", flat=True)) == ["井盖缺失"]


def test_a_claim_sent_twice_is_one_claim_not_a_conflict(worker, world, frank, errands):
    ticket = open_ticket(category=errands, grid=world.A1a, reporter=frank)
    client, csrf = queue_client(worker)
    form = {"idempotency_key": key(), "csrfmiddlewaretoken": csrf}

    first = client.post(f"/tickets/{ticket.pk}/do/claim/", form)
    again = client.post(f"/tickets/{ticket.pk}/do/claim/", form)

    assert (first.status_code, again.status_code) == (302, 302)
    assert TicketEvent.objects.filter(ticket=ticket, kind=EventKind.CLAIMED).count() == 1
    ticket.refresh_from_db()
    assert (ticket.status, ticket.assignee_id) == (TicketStatus.ACCEPTED, worker.pk)


def test_a_claim_someone_else_made_first_is_refused_with_the_reason(
    worker, grace, world, frank, errands
):
    ticket = open_ticket(category=errands, grid=world.A1a, reporter=frank)
    Client().force_login(grace)
    grace_client, grace_csrf = queue_client(grace)
    grace_client.post(
        f"/tickets/{ticket.pk}/do/claim/",
        {"idempotency_key": key(), "csrfmiddlewaretoken": grace_csrf},
    )
    client, csrf = queue_client(worker)

    late = client.post(
        f"/tickets/{ticket.pk}/do/claim/",
        {"idempotency_key": key(), "csrfmiddlewaretoken": csrf},
        **EN,
    )

    assert late.status_code == 409
    assert 'role="alert"' in late.content.decode()  # the queue shows the page's reason


def test_a_campaign_answer_sent_twice_is_one_visit(worker, homes, campaign):
    task = CampaignTask.objects.get(campaign=campaign, household=homes["h1"])
    client, csrf = queue_client(worker)
    form = {"answer_0": "安全", "idempotency_key": key(), "csrfmiddlewaretoken": csrf}

    first = client.post(f"/residents/campaign-tasks/{task.pk}/", form)
    again = client.post(f"/residents/campaign-tasks/{task.pk}/", form)

    assert (first.status_code, again.status_code) == (302, 302)
    assert Visit.objects.filter(kind="campaign").count() == 1


def test_a_rating_sent_twice_is_one_rating(frank, world, hazard, worker, make_ticket):
    ticket = make_ticket(TicketStatus.RESOLVED)
    client, csrf = queue_client(frank)
    form = {"rating": "satisfied", "idempotency_key": key(), "csrfmiddlewaretoken": csrf}

    first = client.post(f"/tickets/{ticket.pk}/rate/", form)
    again = client.post(f"/tickets/{ticket.pk}/rate/", form)

    assert (first.status_code, again.status_code) == (302, 302)
    assert TicketEvent.objects.filter(ticket=ticket, kind=EventKind.RATED).count() == 1


def test_a_refused_form_is_not_remembered_so_a_corrected_one_goes_through(worker, world, hazard):
    client, csrf = queue_client(worker)
    same = key()
    refused = client.post(
        "/tickets/report/",
        {"category": hazard.pk, "title": "", "idempotency_key": same, "csrfmiddlewaretoken": csrf},
    )
    assert refused.status_code == 400
    corrected = client.post(
        "/tickets/report/",
        {
            "category": hazard.pk,
            "title": "井盖缺失",
            "grid": world.A1a.pk,
            "idempotency_key": same,
            "csrfmiddlewaretoken": csrf,
        },
    )
    assert corrected.status_code == 302
    assert Ticket.objects.count() == 1


# --- when a visit made offline was made --------------------------------------------------------


def post_visit(client, homes, **fields):
    return client.post(
        f"/residents/households/{homes['h1'].pk}/visits/", {"kind": "routine", **fields}, **EN
    )


def test_a_visit_made_offline_keeps_the_time_it_was_made(client, worker, homes):
    client.force_login(worker)
    made = timezone.now().replace(microsecond=0) - datetime.timedelta(hours=5)

    response = post_visit(client, homes, visited_at=made.isoformat().replace("+00:00", "Z"))

    assert response.status_code == 302
    assert Visit.objects.get().visited_at == made


def test_a_phone_clock_ahead_makes_the_visit_now(client, worker, homes):
    client.force_login(worker)
    ahead = timezone.now() + datetime.timedelta(hours=3)

    response = post_visit(client, homes, visited_at=ahead.isoformat())

    assert response.status_code == 302
    assert abs(Visit.objects.get().visited_at - timezone.now()) < datetime.timedelta(minutes=1)


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("yesterday-ish", "not a valid date and time"),
        ("2026-01-01T08:00:00" + "0" * 300, "not a valid date and time"),
        ("2000-01-01T08:00:00+08:00", "within 30 days"),
    ],
)
def test_a_visit_time_that_makes_no_sense_is_refused_on_the_form(
    client, worker, homes, value, message
):
    client.force_login(worker)

    response = post_visit(client, homes, visited_at=value)

    assert response.status_code == 200  # the archive again, with the form's error
    body = response.content.decode()
    assert message in body
    assert 'class="errorlist' in body
    assert not Visit.objects.exists()
