"""The tickets' phone pages through their real URLs: report a problem (随手拍), my tickets,
the claim board, a ticket with its timeline and actions, the rating page, and the private
page of a reporter without an account.

The default language is Chinese; tests read labels in English (``EN``) or assert values.
"""

from __future__ import annotations

import io
import re

import pytest
from django.core import signing
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test.utils import CaptureQueriesContext
from PIL import Image
from PIL.TiffImagePlugin import IFDRational

from grids.models import AssignmentRole
from tests.grids.factories import assign
from tests.tickets.factories import make_category, open_ticket
from tickets import services
from tickets.models import Channel, EventKind, Rating, Ticket, TicketPhoto, TicketStatus
from tickets.views import reporter_link_token

EN = {"HTTP_ACCEPT_LANGUAGE": "en"}
IN_A1A = {"lat": "30.05", "lng": "100.05"}


@pytest.fixture(autouse=True)
def _media_in_tmp(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


def body(response) -> str:
    return response.content.decode()


def jpeg(name: str = "photo.jpg", *, gps: bool = False) -> SimpleUploadedFile:
    exif = Image.Exif()
    if gps:
        r = IFDRational
        exif[0x8825] = {1: "N", 2: (r(30), r(3), r(0)), 3: "E", 4: (r(100), r(3), r(0))}
    buffer = io.BytesIO()
    Image.new("RGB", (40, 30), "blue").save(buffer, format="JPEG", exif=exif)
    return SimpleUploadedFile(name, buffer.getvalue(), content_type="image/jpeg")


def detail(ticket) -> str:
    return f"/tickets/{ticket.pk}/"


def act(ticket, action: str) -> str:
    return f"/tickets/{ticket.pk}/do/{action}/"


def follow_url(ticket) -> str:
    return f"/tickets/follow/{reporter_link_token(ticket)}/"


def shown_message(response) -> list[str]:
    return [str(m) for m in response.context["messages"]]


@pytest.fixture
def unit_head(world, make_user):
    """Uma: unit head (单元长) on estate A1."""
    uma = make_user("uma")
    assign(uma, world.A1, AssignmentRole.UNIT_HEAD)
    return uma


@pytest.fixture
def noise(db):
    """噪音扰民: residents may report it without an account; dispatched by hand."""
    return make_category(name="噪音扰民", anonymous=True)


@pytest.fixture
def anonymous_ticket(world, noise):
    """A resident's report without an account, on A1a."""
    return open_ticket(
        category=noise, grid=world.A1a, reporter=None, actor=None, channel="resident_web"
    )


# --- layout --------------------------------------------------------------------------------


def test_pages_share_the_field_layout_without_inline_script_or_style(
    client, make_ticket, anonymous_ticket, worker
):
    ticket = make_ticket("dispatched")
    client.force_login(worker)
    pages = [
        "/tickets/report/",
        "/tickets/mine/",
        "/tickets/board/",
        detail(ticket),
        f"/tickets/{ticket.pk}/rate/",
    ]
    for url in pages:
        response = client.get(url, **EN)
        assert response.status_code == 200, url
        html = body(response)
        assert "css/field.css" in html, url
        assert "css/tickets.css" in html, url
        assert re.findall(r"<script(?![^>]*\bsrc=)", html) == [], url  # CSP: no inline script
        assert 'style="' not in html, url
    client.logout()
    html = body(client.get(follow_url(anonymous_ticket), **EN))
    assert re.findall(r"<script(?![^>]*\bsrc=)", html) == []
    assert 'style="' not in html


@pytest.mark.parametrize(
    "url",
    ["/tickets/mine/", "/tickets/board/", "/tickets/1/", "/tickets/1/rate/", "/tickets/photos/1/"],
)
def test_pages_need_login(client, db, url):
    response = client.get(url)
    assert response.status_code == 302
    assert "/accounts/login/" in response["Location"]


def test_actions_need_login_and_post(client, make_ticket, worker):
    ticket = make_ticket("dispatched")
    assert "/accounts/login/" in client.post(act(ticket, "accept"))["Location"]
    client.force_login(worker)
    assert client.get(act(ticket, "accept")).status_code == 405
    assert client.post(act(ticket, "explode")).status_code == 404


# --- report a problem (随手拍) ----------------------------------------------------------------


def test_report_page_offers_location_by_consent_and_works_without_it(client, world, hazard, fire):
    html = body(client.get("/tickets/report/", **EN))

    assert "js/report-location.js" in html
    # the location button only appears when the script runs (progressive enhancement)
    assert re.search(r'<button type="button" id="use-location"[^>]*\shidden', html)
    assert 'type="hidden" name="lat"' in html
    assert 'type="hidden" name="lng"' in html
    # without an account: only categories that allow it, a phone number, communities
    assert f'<option value="{fire.pk}">' in html
    assert f'<option value="{hazard.pk}">' not in html
    assert 'name="reporter_phone"' in html
    assert world.A.name in html
    assert world.B.name in html
    assert world.A1.name not in html


def test_anonymous_resident_reports_and_gets_a_private_link(client, world, fire):
    # when
    response = client.post(
        "/tickets/report/",
        {
            "category": fire.pk,
            "title": "楼道冒烟",
            "grid": world.A.pk,
            "address": "3号楼",
            "reporter_phone": "138 0013 8000",
            "reporter_name": "王女士",
        },
        **EN,
    )

    # then the ticket is open, as the resident's, with the number they left
    assert response.status_code == 302
    ticket = Ticket.objects.get()
    assert (ticket.channel, ticket.reporter, ticket.created_by) == (
        Channel.RESIDENT_WEB,
        None,
        None,
    )
    assert (ticket.reporter_phone, ticket.reporter_name, ticket.grid) == (
        "13800138000",
        "王女士",
        world.A,
    )
    # and the private page shows the number and its own address to keep
    assert response["Location"] == follow_url(ticket)
    page = client.get(response["Location"], **EN)
    html = body(page)
    assert ticket.number in html
    assert f"Reported. Your ticket number is {ticket.number}." in shown_message(page)
    assert f'value="http://testserver{follow_url(ticket)}"' in html
    assert "no-store" in page["Cache-Control"]


def test_anonymous_report_needs_a_phone_and_an_anonymous_category(client, world, hazard, fire):
    no_phone = client.post(
        "/tickets/report/", {"category": fire.pk, "title": "冒烟", "grid": world.A.pk}, **EN
    )
    hidden_category = client.post(
        "/tickets/report/",
        {
            "category": hazard.pk,
            "title": "冒烟",
            "grid": world.A.pk,
            "reporter_phone": "13800138000",
        },
        **EN,
    )
    bad_phone = client.post(
        "/tickets/report/",
        {"category": fire.pk, "title": "冒烟", "grid": world.A.pk, "reporter_phone": "12345"},
        **EN,
    )

    assert no_phone.status_code == 400
    assert no_phone.context["form"].errors["reporter_phone"]
    assert hidden_category.status_code == 400
    assert hidden_category.context["form"].errors["category"]
    assert bad_phone.status_code == 400
    assert "mainland mobile number" in body(bad_phone)
    assert not Ticket.objects.exists()


def test_a_grid_worker_reports_on_patrol_from_the_phones_position(client, world, hazard, worker):
    client.force_login(worker)

    response = client.post(
        "/tickets/report/", {"category": hazard.pk, "title": "井盖缺失", **IN_A1A}, **EN
    )

    ticket = Ticket.objects.get()
    assert response.status_code == 302
    assert response["Location"] == detail(ticket)
    assert (ticket.channel, ticket.reporter, ticket.grid) == (Channel.PATROL, worker, world.A1a)
    assert ticket.events.get().data["located"] is True


def test_a_unit_head_reports_as_unit_head_and_a_resident_as_resident(
    client, world, hazard, unit_head, frank
):
    client.force_login(unit_head)
    client.post(
        "/tickets/report/", {"category": hazard.pk, "title": "电梯故障", "grid": world.A1a.pk}
    )
    client.force_login(frank)
    client.post("/tickets/report/", {"category": hazard.pk, "title": "噪音", "grid": world.A.pk})

    assert dict(Ticket.objects.values_list("title", "channel")) == {
        "电梯故障": Channel.UNIT_HEAD,
        "噪音": Channel.RESIDENT_WEB,
    }


def test_without_a_position_the_grid_is_chosen_from_the_users_grids(client, world, worker, frank):
    client.force_login(worker)
    choices = body(client.get("/tickets/report/"))
    assert world.A1.name in choices
    assert world.A1a.name in choices
    assert world.A2.name not in choices
    assert world.B.name not in choices

    client.force_login(frank)  # no grid of his own: the communities
    choices = body(client.get("/tickets/report/"))
    assert world.A.name in choices
    assert world.A1.name not in choices


def test_a_photos_gps_locates_the_report_when_no_position_is_shared(client, world, hazard, frank):
    client.force_login(frank)

    response = client.post(
        "/tickets/report/",
        {"category": hazard.pk, "title": "垃圾堆放", "photos": [jpeg(gps=True), jpeg("2.jpg")]},
    )

    assert response.status_code == 302
    ticket = Ticket.objects.get()
    assert ticket.grid == world.A1a
    assert ticket.photos.filter(event__isnull=True).count() == 2
    html = body(client.get(detail(ticket)))
    for photo in ticket.photos.all():
        assert f"/tickets/photos/{photo.pk}/?size=thumbnail" in html


def test_report_errors_are_shown_on_the_form(client, world, hazard, frank):
    client.force_login(frank)

    nowhere = client.post("/tickets/report/", {"category": hazard.pk, "title": "垃圾"}, **EN)
    bad_photo = client.post(
        "/tickets/report/",
        {
            "category": hazard.pk,
            "title": "垃圾",
            "grid": world.A.pk,
            "photos": [SimpleUploadedFile("x.jpg", b"not an image", "image/jpeg")],
        },
        **EN,
    )

    assert nowhere.status_code == 400
    assert nowhere.context["form"].errors["grid"] == [
        "Give the grid or the coordinates of the place."
    ]
    assert bad_photo.status_code == 400
    assert "x.jpg is not a JPEG, PNG or WebP image" in bad_photo.context["form"].errors["photos"][0]
    assert not Ticket.objects.exists()


def test_a_grid_outside_those_offered_is_refused_by_the_form(client, world, hazard, frank):
    client.force_login(frank)  # a resident is offered the communities, not estates

    response = client.post(
        "/tickets/report/", {"category": hazard.pk, "title": "x", "grid": world.A1a.pk}, **EN
    )

    assert response.status_code == 400
    assert response.context["form"].errors["grid"]
    assert not Ticket.objects.exists()


# --- my tickets and the claim board --------------------------------------------------------


def test_my_tickets_assigned_and_reported(client, make_ticket, worker, carol, frank):
    mine = make_ticket("accepted", assignee=worker)
    not_mine = make_ticket("dispatched", assignee=carol)

    client.force_login(worker)
    assigned = body(client.get("/tickets/mine/"))  # a worker starts on the assigned tab
    assert mine.number in assigned
    assert not_mine.number not in assigned

    client.force_login(frank)
    reported = client.get("/tickets/mine/")  # a resident starts on his reports
    assert reported.context["show"] == "reported"
    assert mine.number in body(reported)
    assert not_mine.number in body(reported)
    nothing = client.get("/tickets/mine/?show=assigned", **EN)
    assert nothing.context["rows"] == []
    assert "No ticket is assigned to you." in body(nothing)


def test_my_tickets_query_count_does_not_grow_with_rows(client, make_ticket, worker):
    make_ticket("dispatched")
    client.force_login(worker)
    with CaptureQueriesContext(connection) as one:
        client.get("/tickets/mine/")
    for _ in range(4):
        make_ticket("dispatched")
    with CaptureQueriesContext(connection) as five:
        response = client.get("/tickets/mine/")

    assert len(response.context["rows"]) == 5
    assert len(five) == len(one)


def test_claim_board_first_claim_wins_the_second_is_told(client, make_ticket, worker, carol):
    ticket = make_ticket("claimable")

    client.force_login(worker)
    board = body(client.get("/tickets/board/"))
    assert ticket.number in board
    assert f'action="{act(ticket, "claim")}"' in board
    won = client.post(act(ticket, "claim"), follow=True, **EN)

    client.force_login(carol)
    lost = client.post(act(ticket, "claim"), **EN)

    assert won.status_code == 200
    assert "Done: claim." in shown_message(won)
    ticket.refresh_from_db()
    assert (ticket.status, ticket.assignee) == (TicketStatus.ACCEPTED, worker)
    assert lost.status_code == 409
    assert "Someone else has already taken this ticket." in body(lost)
    assert ticket.events.filter(kind=EventKind.CLAIMED).count() == 1


def test_claim_board_is_scoped_and_its_query_count_constant(client, make_ticket, worker, outsider):
    first = make_ticket("claimable")
    client.force_login(outsider)
    assert first.number not in body(client.get("/tickets/board/"))

    client.force_login(worker)
    with CaptureQueriesContext(connection) as one:
        client.get("/tickets/board/")
    for _ in range(3):
        make_ticket("claimable")
    with CaptureQueriesContext(connection) as four:
        response = client.get("/tickets/board/")
    assert len(response.context["rows"]) == 4
    assert len(four) == len(one)


# --- a ticket's page: only the actions one may take now ------------------------------------


def offered_actions(response) -> list[str]:
    return [action for action, _form in response.context["actions"]]


def test_the_page_offers_only_the_actions_allowed_now(
    client, make_ticket, worker, carol, staff, frank, outsider
):
    ticket = make_ticket("dispatched")  # to bob

    expected = {
        worker: ["accept"],
        carol: [],
        frank: [],
        staff: ["dispatch", "whistle", "deliberate", "duplicate", "reject"],
    }
    for person, actions in expected.items():
        client.force_login(person)
        response = client.get(detail(ticket))
        assert response.status_code == 200
        assert offered_actions(response) == actions, person
        for action in ("accept", "dispatch", "reject"):
            assert (act(ticket, action) in body(response)) == (action in actions)

    client.force_login(outsider)
    assert client.get(detail(ticket)).status_code == 404


def test_accept_start_and_resolve_with_note_and_photos(client, make_ticket, worker, settings):
    ticket = make_ticket("dispatched")
    client.force_login(worker)

    client.post(act(ticket, "accept"), {"note": "马上到"})
    client.post(act(ticket, "start"))
    response = client.post(
        act(ticket, "resolve"), {"note": "已更换灯泡", "photos": [jpeg("after.jpg")]}
    )

    assert response.status_code == 302
    ticket.refresh_from_db()
    assert ticket.status == TicketStatus.RESOLVED
    kinds = list(ticket.events.values_list("kind", "note"))
    assert kinds[-3:] == [
        (EventKind.ACCEPTED, "马上到"),
        (EventKind.STARTED, ""),
        (EventKind.RESOLVED, "已更换灯泡"),
    ]
    [photo] = TicketPhoto.objects.all()
    assert photo.event == ticket.events.get(kind=EventKind.RESOLVED)
    html = body(client.get(detail(ticket)))
    assert "已更换灯泡" in html
    assert f"/tickets/photos/{photo.pk}/?size=thumbnail" in html


def test_a_refused_photo_undoes_the_resolution(client, make_ticket, worker):
    ticket = make_ticket("in_progress")
    client.force_login(worker)

    response = client.post(
        act(ticket, "resolve"),
        {"note": "好了", "photos": [SimpleUploadedFile("v.jpg", b"video", "image/jpeg")]},
        **EN,
    )

    assert response.status_code == 400
    assert "v.jpg is not a JPEG, PNG or WebP image" in body(response)
    ticket.refresh_from_db()
    assert ticket.status == TicketStatus.IN_PROGRESS
    assert not ticket.events.filter(kind=EventKind.RESOLVED).exists()


def test_staff_dispatch_to_a_person_and_to_the_claim_board(client, make_ticket, staff, carol):
    ticket = make_ticket("submitted")
    client.force_login(staff)
    page = body(client.get(detail(ticket)))
    assert f'<option value="{carol.pk}">' in page  # carol works on A1a

    client.post(act(ticket, "dispatch"), {"assignee": carol.pk, "note": "请跟进"})
    ticket.refresh_from_db()
    assert (ticket.status, ticket.assignee) == (TicketStatus.DISPATCHED, carol)

    client.post(act(ticket, "dispatch"), {"claim_board": "on"})
    ticket.refresh_from_db()
    assert (ticket.status, ticket.assignee) == (TicketStatus.CLAIMABLE, None)


def test_dispatch_to_nobody_is_a_400_on_the_form(client, make_ticket, staff):
    ticket = make_ticket("submitted")
    client.force_login(staff)

    response = client.post(act(ticket, "dispatch"), {"note": "?"}, **EN)

    assert response.status_code == 400
    assert "Dispatch to exactly one of" in body(response)
    ticket.refresh_from_db()
    assert ticket.status == TicketStatus.SUBMITTED


def test_whistle_report_in_and_reply_with_photos(client, make_ticket, world, staff, erin):
    ticket = make_ticket("submitted")
    client.force_login(staff)
    client.post(act(ticket, "whistle"), {"departments": [world.D1.pk], "note": "请派警"})
    ticket.refresh_from_db()
    assert ticket.status == TicketStatus.WHISTLED
    whistle = ticket.whistles.get()

    client.force_login(erin)
    page = body(client.get(detail(ticket)))
    assert f"/tickets/whistles/{whistle.pk}/report-in/" in page
    client.post(f"/tickets/whistles/{whistle.pk}/report-in/")
    assert f"/tickets/whistles/{whistle.pk}/reply/" in body(client.get(detail(ticket)))
    response = client.post(
        f"/tickets/whistles/{whistle.pk}/reply/", {"reply": "已出警", "photos": [jpeg()]}
    )

    assert response.status_code == 302
    whistle.refresh_from_db()
    assert (whistle.status, whistle.reply) == ("replied", "已出警")
    assert TicketPhoto.objects.get().event == ticket.events.get(kind=EventKind.REPLIED)


def test_reject_needs_a_reason(client, make_ticket, staff):
    ticket = make_ticket("submitted")
    client.force_login(staff)

    empty = client.post(act(ticket, "reject"), {"reason": ""})
    done = client.post(act(ticket, "reject"), {"reason": "重复报告"})

    assert empty.status_code == 400
    assert done.status_code == 302
    ticket.refresh_from_db()
    assert (ticket.status, ticket.reject_reason) == (TicketStatus.REJECTED, "重复报告")


def test_duplicate_by_an_unknown_number_is_a_400(client, make_ticket, staff):
    ticket = make_ticket("submitted")
    client.force_login(staff)

    response = client.post(act(ticket, "duplicate"), {"original": "19990101-0001"}, **EN)

    assert response.status_code == 400
    assert "No ticket with this number that you can see." in body(response)


def test_403_and_409_are_messages_on_the_ticket_page(client, make_ticket, carol, staff):
    ticket = make_ticket("dispatched")  # to bob

    client.force_login(carol)  # sees it, is not the assignee
    refused = client.post(act(ticket, "accept"), **EN)
    client.force_login(staff)
    conflict = client.post(act(ticket, "start"), **EN)  # not accepted yet

    assert refused.status_code == 403
    assert "You may not do this to this ticket: accept." in body(refused)
    assert ticket.number in body(refused)  # the ticket's page, not an error page
    assert conflict.status_code == 409
    assert "does not allow this action: start work." in body(conflict)
    ticket.refresh_from_db()
    assert ticket.status == TicketStatus.DISPATCHED


def test_reporter_phone_is_masked_for_those_who_do_not_call_back(
    client, world, hazard, staff, carol
):
    ticket = open_ticket(  # a 12345 caller, entered by staff
        category=hazard,
        grid=world.A1a,
        reporter=None,
        actor=staff,
        channel="hotline",
        reporter_phone="13912345678",
    )

    client.force_login(staff)
    assert "13912345678" in body(client.get(detail(ticket)))
    client.force_login(carol)
    html = body(client.get(detail(ticket)))
    assert "13912345678" not in html
    assert "139****5678" in html


def test_staff_see_the_private_link_of_a_reporter_without_an_account(
    client, anonymous_ticket, make_ticket, staff
):
    client.force_login(staff)
    assert follow_url(anonymous_ticket) in body(client.get(detail(anonymous_ticket)))

    with_account = make_ticket("submitted")
    assert "/tickets/follow/" not in body(client.get(detail(with_account)))


# --- rating (闭环评事) -------------------------------------------------------------------------


def test_the_reporter_rates_a_resolved_ticket(client, make_ticket, frank):
    ticket = make_ticket("resolved")
    client.force_login(frank)
    assert f"/tickets/{ticket.pk}/rate/" in body(client.get(detail(ticket)))

    response = client.post(
        f"/tickets/{ticket.pk}/rate/",
        {"rating": Rating.BASICALLY_SATISFIED, "comment": "还行"},
        follow=True,
        **EN,
    )

    assert "Thank you for your rating. The ticket is closed." in shown_message(response)
    ticket.refresh_from_db()
    assert (ticket.status, ticket.rating, ticket.rating_comment) == (
        TicketStatus.CLOSED,
        Rating.BASICALLY_SATISFIED,
        "还行",
    )
    rated = ticket.events.get(kind=EventKind.RATED)
    assert (rated.actor, rated.data["on_behalf"]) == (frank, False)


def test_unsatisfied_reopens(client, make_ticket, frank):
    ticket = make_ticket("resolved")
    client.force_login(frank)

    client.post(f"/tickets/{ticket.pk}/rate/", {"rating": Rating.UNSATISFIED, "comment": "没修好"})

    ticket.refresh_from_db()
    assert ticket.status == TicketStatus.REOPENED


def test_others_get_no_rating_form_and_a_403_when_they_try(client, make_ticket, worker):
    ticket = make_ticket("resolved")
    client.force_login(worker)

    page = client.get(f"/tickets/{ticket.pk}/rate/", **EN)
    refused = client.post(f"/tickets/{ticket.pk}/rate/", {"rating": Rating.SATISFIED}, **EN)

    assert page.status_code == 200
    assert page.context["form"] is None
    assert "This ticket is not waiting for your rating." in body(page)
    assert refused.status_code == 403
    assert "You may not do this to this ticket: rate." in body(refused)
    ticket.refresh_from_db()
    assert ticket.status == TicketStatus.RESOLVED


def test_rating_twice_is_a_409_message(client, make_ticket, frank):
    ticket = make_ticket("resolved")
    client.force_login(frank)
    client.post(f"/tickets/{ticket.pk}/rate/", {"rating": Rating.SATISFIED})

    again = client.post(f"/tickets/{ticket.pk}/rate/", {"rating": Rating.SATISFIED}, **EN)

    assert again.status_code == 409
    assert "does not allow this action: rate" in body(again)


# --- the private page of a reporter without an account -------------------------------------


def resolve(ticket, staff, worker):
    services.ticket_dispatch(actor=staff, ticket=ticket, assignee=worker, note="内部备注：先打电话")
    services.ticket_accept(actor=worker, ticket=ticket)
    services.ticket_resolve(actor=worker, ticket=ticket, note="灭火器已更换")


def test_the_private_link_shows_progress_without_names_or_internal_notes(
    client, anonymous_ticket, staff, worker
):
    resolve(anonymous_ticket, staff, worker)

    response = client.get(follow_url(anonymous_ticket), **EN)

    html = body(response)
    assert response.status_code == 200
    assert anonymous_ticket.number in html
    assert "灭火器已更换" in html  # the resolution note closes the loop
    assert "内部备注" not in html  # a dispatcher's note is internal
    assert str(worker) not in html
    assert str(staff) not in html
    assert 'name="rating"' in html


def test_rating_by_the_private_link(client, anonymous_ticket, staff, worker):
    resolve(anonymous_ticket, staff, worker)
    url = follow_url(anonymous_ticket)

    done = client.post(url, {"rating": Rating.SATISFIED, "comment": "很快"}, follow=True, **EN)
    again = client.post(url, {"rating": Rating.UNSATISFIED}, **EN)

    assert "Thank you for your rating. The ticket is closed." in shown_message(done)
    anonymous_ticket.refresh_from_db()
    assert (anonymous_ticket.status, anonymous_ticket.rating) == (
        TicketStatus.CLOSED,
        Rating.SATISFIED,
    )
    rated = anonymous_ticket.events.get(kind=EventKind.RATED)
    assert (rated.actor, rated.note, rated.data["by_link"]) == (None, "很快", True)
    assert again.status_code == 409
    assert "does not allow this action: rate" in body(again)


def test_an_unsatisfied_rating_by_link_reopens(client, anonymous_ticket, staff, worker):
    resolve(anonymous_ticket, staff, worker)

    client.post(follow_url(anonymous_ticket), {"rating": Rating.UNSATISFIED})

    anonymous_ticket.refresh_from_db()
    assert anonymous_ticket.status == TicketStatus.REOPENED


def test_no_rating_form_before_the_ticket_is_resolved(client, anonymous_ticket):
    response = client.get(follow_url(anonymous_ticket))
    assert response.context["form"] is None
    assert client.post(follow_url(anonymous_ticket), {"rating": "satisfied"}).status_code == 409


def test_a_forged_or_foreign_link_is_404(client, anonymous_ticket, make_ticket):
    with_account = make_ticket("resolved")
    token = reporter_link_token(anonymous_ticket)

    assert client.get(f"/tickets/follow/{token}x/").status_code == 404
    assert client.get(f"/tickets/follow/{signing.dumps(anonymous_ticket.pk)}/").status_code == 404
    assert (
        client.get(follow_url(with_account)).status_code == 404
    )  # reporters with accounts sign in


def test_the_private_link_serves_the_reports_photos_only(client, world, noise, staff, worker):
    ticket = services.ticket_open(
        actor=None,
        reporter=None,
        channel=None,
        category=noise,
        title="深夜施工",
        grid=world.A1a,
        reporter_phone="13800138000",
        photos=[jpeg()],
    )
    services.ticket_dispatch(actor=staff, ticket=ticket, assignee=worker)
    accepted = services.ticket_accept(actor=worker, ticket=ticket)
    event = accepted.events.get(kind=EventKind.ACCEPTED)
    [internal] = services.ticket_attach_photos(
        actor=worker, ticket=ticket, event=event, files=[jpeg("inside.jpg")]
    )
    report_photo = ticket.photos.get(event__isnull=True)
    token = reporter_link_token(ticket)

    html = body(client.get(f"/tickets/follow/{token}/"))
    ok = client.get(f"/tickets/follow/{token}/photos/{report_photo.pk}/?size=thumbnail")
    hidden = client.get(f"/tickets/follow/{token}/photos/{internal.pk}/")

    assert f"/tickets/follow/{token}/photos/{report_photo.pk}/" in html
    assert ok.status_code == 200
    assert ok["Content-Type"] == "image/jpeg"
    assert hidden.status_code == 404
