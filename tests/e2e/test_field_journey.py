"""The field pages as people use them, in Chromium on a 360 × 740 phone screen: a grid
worker logs a visit, a resident reports a problem with a photo and their position, a
party member claims it, the grid leader resolves it, the resident rates it, and the
county leader's dashboard counts it."""

from __future__ import annotations

import io

import pytest
from PIL import Image

from grids.models import PartyOrganizationKind
from residents.models import PartyMember, Visit
from tests.e2e.conftest import quiet_db, sign_in
from tests.grids.factories import make_party_organization
from tickets.models import Rating, Ticket, TicketPhoto, TicketStatus

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)

INSIDE_A1A = {"latitude": 30.05, "longitude": 100.05}  # micro grid A1a's box


@pytest.fixture
def pete(world, make_user):
    """A party member of community A's branch, with an account and no grid role."""
    branch = make_party_organization(world.A, PartyOrganizationKind.BRANCH, name="社区A支部")
    user = make_user("pete", is_staff=False, full_name="党员老彭")
    PartyMember.objects.create(user=user, organization=branch)
    return user


def camera_photo(tmp_path, size=(2400, 1800)):
    """A phone camera's picture, larger than what the phone should send."""
    path = tmp_path / "street-lamp.jpg"
    image = Image.new("RGB", size, (90, 120, 160))
    for x in range(0, size[0], 40):  # some detail, so JPEG has something to keep
        image.paste((200, 180, 40), (x, 0, x + 8, size[1]))
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=95)
    path.write_bytes(buffer.getvalue())
    return path


def dashboard_figures(page) -> dict[str, str]:
    figures = {}
    for card in page.locator(".dashboard .cards .card").all():
        label = card.locator(".label").inner_text().strip()
        figures[label] = card.locator(".value").inner_text().strip()
        sub = card.locator(".sub")
        if sub.count():
            figures[label + " (sub)"] = sub.inner_text().strip()
    return figures


def test_a_problem_goes_round_the_loop_and_the_dashboard_counts_it(
    open_context, shots, tmp_path, world, homes, worker, grace, frank, pete, leader, errands
):
    # the county leader's dashboard before anything happens
    _, dan = open_context()
    sign_in(dan, "dan", next_url="/dashboard/")
    before = dashboard_figures(dan)
    shots(dan, "dashboard-before")
    assert before["Tickets opened"] == "0"

    # a grid worker opens a household from their list and logs a visit
    _, bob = open_context("bob")
    assert "Building 1 Unit 2 Room 301" in bob.inner_text("ul.rows")
    bob.click("text=Building 1 Unit 2 Room 301")
    bob.wait_for_selector("h1:has-text('Building 1 Unit 2 Room 301')")
    assert "王大爷" in bob.inner_text("main")
    bob.click("label.kind:has-text('Must-visit')")
    bob.click("summary:has-text('Findings and photo')")
    bob.fill("textarea[name=findings]", "老人身体硬朗，门口有杂物已清理")
    shots(bob, "visit-form")
    bob.click("button:has-text('Save the visit')")
    bob.wait_for_selector(".messages li.success:has-text('Visit recorded.')")
    assert "老人身体硬朗" in bob.inner_text("ul.visits")
    shots(bob, "visit-recorded")
    with quiet_db():
        visit = Visit.objects.get()
    assert (visit.household_id, visit.visitor_id, visit.kind) == (
        homes["h1"].pk,
        worker.pk,
        "must_visit",
    )

    # a resident reports a problem with a photo and their phone's position
    _, resident = open_context(geolocation=INSIDE_A1A, permissions=["geolocation"])
    sign_in(resident, "frank", next_url="/tickets/report/")
    resident.select_option("select[name=category]", label=errands.name)
    resident.fill("input[name=title]", "楼道灯坏了")
    resident.fill("textarea[name=description]", "3号楼2单元楼道灯不亮，老人晚上出门不便")
    resident.set_input_files("input[name=photos]", str(camera_photo(tmp_path)))
    resident.click("#use-location")
    resident.wait_for_selector("#location-status:has-text('Position set')")
    shots(resident, "report-form")
    resident.click("button:has-text('Send the report')")
    resident.wait_for_selector(".messages li.success:has-text('Your ticket number is')")
    shots(resident, "report-sent")
    with quiet_db():
        ticket = Ticket.objects.get()
        photo = TicketPhoto.objects.get(ticket=ticket)
    assert ticket.grid_id == world.A1a.pk  # located from the position
    assert (round(ticket.lat, 2), round(ticket.lng, 2)) == (30.05, 100.05)
    assert ticket.status == TicketStatus.CLAIMABLE
    assert max(photo.width, photo.height) == 1600  # made smaller on the phone
    assert ticket.number in resident.inner_text("main")

    # a party member claims it from the claim board
    _, party = open_context()
    sign_in(party, "pete", next_url="/tickets/board/")
    assert "楼道灯坏了" in party.inner_text("ul.tickets")
    shots(party, "claim-board")
    party.click("form.claim button")
    party.wait_for_selector(".messages li.success:has-text('Done: claim.')")
    shots(party, "claimed")
    with quiet_db():
        ticket.refresh_from_db()
    assert (ticket.status, ticket.assignee_id) == (TicketStatus.ACCEPTED, pete.pk)

    # the grid leader resolves it
    _, leader_page = open_context()
    sign_in(leader_page, "grace", next_url=f"/tickets/{ticket.pk}/")
    leader_page.fill("#id_resolve_note", "已更换楼道灯泡")
    leader_page.click("button:has-text('Mark as resolved')")
    leader_page.wait_for_selector(".messages li.success:has-text('Done: resolve.')")
    assert "已更换楼道灯泡" in leader_page.inner_text("ol.timeline")
    shots(leader_page, "resolved")
    with quiet_db():
        ticket.refresh_from_db()
    assert ticket.status == TicketStatus.RESOLVED

    # the resident rates it, which closes it
    resident.goto(f"/tickets/{ticket.pk}/")
    resident.click("text=Rate how it was handled")
    resident.click("label.kind:has-text('Satisfied') >> nth=0")
    resident.fill("textarea[name=comment]", "修得很快，谢谢")
    shots(resident, "rating")
    resident.click("button:has-text('Send my rating')")
    resident.wait_for_selector(".messages li.success:has-text('The ticket is closed.')")
    with quiet_db():
        ticket.refresh_from_db()
    assert (ticket.status, ticket.rating) == (TicketStatus.CLOSED, Rating.SATISFIED)

    # the leader's dashboard has moved
    dan.reload()
    after = dashboard_figures(dan)
    shots(dan, "dashboard-after")
    assert int(after["Tickets opened"]) == int(before["Tickets opened"]) + 1
    assert int(after["Tickets closed"]) == int(before["Tickets closed"]) + 1
    assert after["Satisfaction"] in ("100%", "100.0%")
    assert after["Satisfaction (sub)"].startswith("1 ")
