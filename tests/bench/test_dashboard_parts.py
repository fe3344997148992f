"""Dashboard figures rewritten for county scale (issue 8) that the dashboard's own tests
do not reach: open campaigns counted from their tasks' index."""

from __future__ import annotations

import datetime

from django.utils import timezone

from governance.dashboard.periods import this_month
from governance.dashboard.selectors import dashboard_for
from grids.models import AssignmentRole
from residents import services
from residents.models import CampaignTask
from tests.grids.factories import assign
from tests.residents.factories import make_household


def test_open_campaigns_with_their_progress(world, make_user):
    staff = make_user("campaigner")
    assign(staff, world.A, AssignmentRole.COMMUNITY_STAFF)
    for room in ("1", "2", "3"):
        make_household(world.A1, room=room)
    make_household(world.B1, room="9")  # another community: not in the campaign
    deadline = timezone.now() + datetime.timedelta(days=3)
    campaign = services.campaign_start(
        actor=staff, grid=world.A, title="敲门行动", deadline=deadline
    )
    later = deadline + datetime.timedelta(days=1)
    empty = services.campaign_start(actor=staff, grid=world.A2, title="空", deadline=later)
    services.campaign_task_record(
        actor=staff, task=CampaignTask.objects.filter(campaign=campaign).first()
    )
    board = dashboard_for(grid=world.T1, period=this_month())
    figures = {c["title"]: c for c in board.campaigns}
    assert (figures["敲门行动"]["total"], figures["敲门行动"]["done"]) == (3, 1)
    assert figures["敲门行动"]["progress"] == 33.3
    assert (figures["空"]["total"], figures["空"]["done"], figures["空"]["progress"]) == (
        0,
        0,
        None,
    )
    assert [c["id"] for c in board.campaigns] == [campaign.pk, empty.pk]  # by deadline
    assert dashboard_for(grid=world.B, period=this_month()).campaigns == []
