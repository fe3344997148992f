"""Without a signal: the phone shows the worker's grid from what it kept, keeps the visits,
reports and answers made meanwhile, and sends each exactly once when the signal returns,
however often the sending is repeated; what the server refuses meanwhile is shown, not
lost; signing out leaves nothing of the user readable on the phone."""

from __future__ import annotations

import datetime

import pytest
from django.conf import settings

from residents import services as resident_services
from residents.models import CampaignTask, Visit
from tests.e2e.conftest import quiet_db, sign_in, wait_until_offline_ready
from tests.grids.factories import superuser
from tickets.models import Ticket

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)

SHANGHAI = datetime.timezone(datetime.timedelta(hours=8))


def counts() -> tuple[int, int]:
    with quiet_db():
        return Visit.objects.count(), Ticket.objects.count()


def waiting_items(page) -> list[dict]:
    return page.evaluate(
        """async () => (await GridQueue.all()).map(i => ({
            id: i.id, kind: i.kind, state: i.state, key: i.key,
            message: i.message, status: i.status,
        }))"""
    )


def test_a_visit_and_a_report_made_offline_reach_the_server_once(
    open_context, shots, world, homes, worker, hazard
):
    context, bob = open_context("bob")
    wait_until_offline_ready(bob)
    h2 = homes["h2"]

    context.set_offline(True)
    # a household never opened with a signal: drawn from the data the phone kept
    bob.goto(f"/residents/households/{h2.pk}/")
    bob.wait_for_selector("#offline-view[data-drawn=bundle]")
    assert bob.is_visible("#offline-flag")
    assert "李阿姨" in bob.inner_text("main")
    bob.click("summary:has-text('Findings and photo')")
    bob.fill("textarea[name=findings]", "独居老人情况良好（离线记录）")
    shots(bob, "offline-visit-form")
    bob.click("button:has-text('Save the visit')")
    bob.wait_for_url("**/pwa/queue/?added=*")
    bob.wait_for_selector("#queue-list .queue-item")
    assert "独居老人情况良好" in bob.inner_text("#queue-list")

    # the report page was kept after sign-in: it works without a signal too
    bob.goto("/tickets/report/")
    bob.select_option("select[name=category]", label=hazard.name)
    bob.fill("input[name=title]", "井盖缺失（离线上报）")
    bob.select_option("select[name=grid]", value=str(world.A1a.pk))
    bob.click("button:has-text('Send the report')")
    bob.wait_for_url("**/pwa/queue/?added=*")
    bob.wait_for_selector("#queue-list[data-count='2']")
    assert bob.inner_text("#queue-badge .count") == "2"
    assert "Saved on this phone" in bob.inner_text("#queue-status")
    shots(bob, "waiting-to-send")
    assert [i["kind"] for i in waiting_items(bob)] == ["visit", "report"]
    assert counts() == (0, 0)  # nothing reached the server

    # a sync that is retried after a lost answer sends the same posts again: here each
    # twice in the same run, with the same keys
    bob.evaluate(
        """async () => {
            window.sentBefore = await GridQueue.all();
            for (const item of window.sentBefore) { await GridQueue.add(item); }
        }"""
    )
    assert len(waiting_items(bob)) == 4

    context.set_offline(False)  # the browser's "online" event starts the sending
    bob.wait_for_selector("#queue-list[data-count='0']", state="attached")
    bob.wait_for_selector("#queue-status:has-text('Everything was sent.')")
    assert bob.is_hidden("#queue-badge")
    shots(bob, "all-sent")
    assert counts() == (1, 1)
    with quiet_db():
        visit = Visit.objects.get()
        ticket = Ticket.objects.get()
    assert (visit.household_id, visit.visitor_id) == (h2.pk, worker.pk)
    assert visit.findings == "独居老人情况良好（离线记录）"
    assert (ticket.title, ticket.grid_id, ticket.reporter_id) == (
        "井盖缺失（离线上报）",
        world.A1a.pk,
        worker.pk,
    )

    # and once more, twice at the same moment, past the queue's own lock: still once
    outcomes = bob.evaluate(
        """async () => {
            const config = GridField.config;
            const session = await GridQueue.session(config);
            const sends = [];
            for (const item of window.sentBefore) {
                sends.push(GridQueue.send(item, session, config));
                sends.push(GridQueue.send(item, session, config));
            }
            return (await Promise.all(sends)).map(r => r.outcome);
        }"""
    )
    assert outcomes == ["sent"] * 4
    assert counts() == (1, 1)


def test_a_post_whose_network_fails_is_kept_by_the_service_worker(
    open_context, shots, homes, worker
):
    context, bob = open_context("bob")
    wait_until_offline_ready(bob)
    h1 = homes["h1"]
    bob.goto(f"/residents/households/{h1.pk}/")
    # the phone believes it is online, but the upload never reaches the server
    context.route("**/residents/households/*/visits/", lambda route: route.abort("failed"))
    bob.click("summary:has-text('Findings and photo')")
    bob.fill("textarea[name=findings]", "上传中断")
    bob.click("button:has-text('Save the visit')")
    bob.wait_for_url("**/pwa/queue/?added=*")
    bob.wait_for_selector("#queue-list .queue-item")
    shots(bob, "kept-after-network-error")
    assert counts() == (0, 0)

    context.unroute("**/residents/households/*/visits/")
    bob.click("#queue-send")
    bob.wait_for_selector("#queue-list[data-count='0']", state="attached")
    with quiet_db():
        assert list(Visit.objects.values_list("findings", flat=True)) == ["上传中断"]


def test_a_door_knocked_on_by_someone_else_meanwhile_is_shown_as_a_conflict(
    open_context, shots, world, homes, worker, grace
):
    with quiet_db():
        campaign = resident_services.campaign_start(
            actor=superuser(),
            grid=world.A1,
            title="冬季安全敲门行动",
            checklist=["燃气是否安全"],
            deadline=datetime.datetime(2099, 1, 1, tzinfo=SHANGHAI),
        )
        task = CampaignTask.objects.get(campaign=campaign, household=homes["h1"])
    context, bob = open_context("bob")
    bob.goto("/residents/campaign-tasks/")
    wait_until_offline_ready(bob)

    context.set_offline(True)
    bob.goto(f"/residents/campaign-tasks/{task.pk}/")
    bob.wait_for_selector("#offline-view[data-drawn=bundle]")
    bob.fill("input[name=answer_0]", "安全")
    bob.click("button:has-text('Record the visit')")
    bob.wait_for_url("**/pwa/queue/?added=*")
    bob.wait_for_selector("#queue-list .queue-item")

    # meanwhile the grid leader knocked on the same door, with a signal
    with quiet_db():
        resident_services.campaign_task_record(actor=grace, task=task, findings="网格长已走访")

    context.set_offline(False)
    bob.wait_for_selector(".queue-item[data-state=conflict]")
    conflict = bob.inner_text(".queue-item[data-state=conflict]")
    assert "already visited in this campaign" in conflict
    assert "Not accepted" in conflict
    shots(bob, "conflict-shown")
    with quiet_db():
        assert list(Visit.objects.values_list("visitor__username", flat=True)) == ["grace"]

    bob.on("dialog", lambda dialog: dialog.accept())
    bob.click(".queue-item[data-state=conflict] button.discard")
    bob.wait_for_selector("#queue-list[data-count='0']", state="attached")
    assert bob.is_visible("#queue-empty")
    assert waiting_items(bob) == []


def test_signing_out_leaves_nothing_of_the_user_on_the_phone(open_context, homes, worker):
    context, bob = open_context("bob")
    wait_until_offline_ready(bob)
    kept = bob.evaluate(
        "async () => (await caches.keys()).filter(n => /gridpwa-(pages|data)/.test(n))"
    )
    assert kept, "the grid data was kept after sign-in"

    bob.click("button:has-text('Log out')")
    bob.wait_for_load_state()
    left = bob.evaluate(
        """async () => {
            const names = (await caches.keys()).filter(n => /gridpwa-(pages|data)/.test(n));
            let entries = 0;
            for (const name of names) {
                entries += (await (await caches.open(name)).keys()).length;
            }
            return entries;
        }"""
    )
    assert left == 0

    # without a signal, the household pages show nothing of bob's grid
    context.set_offline(True)
    bob.goto(f"/residents/households/{homes['h1'].pk}/")
    bob.wait_for_selector("#offline-view[data-drawn=empty]")
    assert "王大爷" not in bob.inner_text("body")


def test_another_account_on_the_same_phone_does_not_see_or_send_what_waits(
    open_context, homes, worker, grace
):
    context, bob = open_context("bob")
    wait_until_offline_ready(bob)
    context.set_offline(True)
    bob.goto(f"/residents/households/{homes['h2'].pk}/")
    bob.click("button:has-text('Save the visit')")
    bob.wait_for_selector("#queue-list .queue-item")

    # bob's session ends without a sign-out (it expired, or was ended on the server) and
    # the grid leader signs in on the same phone
    context.clear_cookies(name=settings.SESSION_COOKIE_NAME)
    context.set_offline(False)
    sign_in(bob, "grace", next_url="/pwa/queue/")
    bob.wait_for_selector("#queue-others:has-text('1 waiting from another account')")
    assert bob.inner_text("#queue-list") == ""
    bob.evaluate("GridField.flush()")
    assert counts() == (0, 0)  # kept for bob, who will be asked to sign in again
    assert [i["state"] for i in waiting_items(bob)] in (["waiting"], ["signin"])

    # bob again on his phone: his visit goes
    context.clear_cookies(name=settings.SESSION_COOKIE_NAME)
    sign_in(bob, "bob", next_url="/residents/")
    bob.goto("/pwa/queue/")
    bob.wait_for_selector("#queue-list[data-count='0']", state="attached")
    with quiet_db():
        assert Visit.objects.get().visitor_id == worker.pk
