"""The data the API is fuzzed against: the ``world`` of ``tests/conftest.py`` with every
kind of record the API serves, placed so that each persona has some inside its scope
and some outside it.

Grids (the same tree as ``tests/conftest.py``)::

    county C                                  county C2 (another tree)
      township T1                               township T9
        community A    ← the integrator (community staff)    community K
          estate A1    ← bob (full-time grid worker)
            micro A1a
          estate A2
        community B
          estate B1
      township T2
      industry D1 (police), industry D2

Every place in ``PLACES`` gets households, residents, visits, tickets in several states,
a meeting, a duty shift, volunteers with points and a shop, so a request for "the
neighbour's" record always has a real one to ask for. Everything is written through the
services, as production writes it.
"""

from __future__ import annotations

import datetime
import io
from dataclasses import dataclass, field

from django.contrib.auth import get_user_model
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone
from PIL import Image
from rest_framework.authtoken.models import Token

from grids.models import AssignmentRole, Grid, GridLevel, PartyOrganizationKind
from open311 import services as open311_services
from open311.params import Submission
from residents import services as residents_services
from residents.models import KeyGroupTag, PartyMember, PartyMemberStatus
from tests.conftest import make_world
from tests.grids.factories import UserFactory, assign, make_grid, make_party_organization
from tests.grids.factories import superuser as make_superuser
from tests.residents.factories import make_household, make_resident
from tests.tickets.factories import make_category, ticket_in
from tests.volunteers.factories import (
    fund,
    make_activity,
    make_item,
    make_rule,
    make_shop,
    make_volunteer,
)
from tickets import services as ticket_services
from tickets.models import Category, Route, TicketEvent, TicketStatus
from tickets.notifications import notifications_create
from tickets.routing import duty_shift_create
from volunteers import services as volunteer_services
from volunteers.models import RuleKind, TeamKind

# The personas the API is fuzzed as, and the grids each one may see (by name: the oracle
# of the scoping check is written from this layout, not computed by ``grids.scoping``).
PERSONAS = ("integrator", "worker")
VISIBLE = {
    "integrator": ("A", "A1", "A1a", "A2"),
    "worker": ("A1", "A1a"),
}
# The grids above each persona's scope: volunteering is read there too (its "reach",
# volunteers/selectors/reach.py) and campaigns covering them are shown.
ABOVE = {
    "integrator": ("T1", "C"),
    "worker": ("A", "T1", "C"),
}
# Territorial places that get a full set of records.
PLACES = ("A1", "A1a", "A2", "B1", "K")


@dataclass
class FuzzWorld:
    grids: dict[str, Grid]
    tokens: dict[str, str]
    users: dict[str, object]
    extra: dict[str, list[int]] = field(default_factory=dict)

    def grid_ids(self, names) -> set[int]:
        return {self.grids[name].pk for name in names}


def _grids() -> dict[str, Grid]:
    world = make_world()
    K = make_grid(world.T9, GridLevel.COMMUNITY, name="社区K", box=(110.0, 35.0, 111.0, 36.0))
    created = {**vars(world), "K": K}
    return {name: Grid.objects.get(pk=grid.pk) for name, grid in created.items()}


def _people(grids: dict[str, Grid]) -> dict[str, object]:
    """One worker per place, staff on each community, a department liaison, a resident."""
    people = {
        "integrator": ("integrator", "A", AssignmentRole.COMMUNITY_STAFF),
        "worker": ("bob", "A1", AssignmentRole.FULL_TIME_WORKER),
        "A1a": ("carol", "A1a", AssignmentRole.PART_TIME_WORKER),
        "A2": ("amy", "A2", AssignmentRole.FULL_TIME_WORKER),
        "B1": ("charlie", "B1", AssignmentRole.FULL_TIME_WORKER),
        "B": ("beth", "B", AssignmentRole.COMMUNITY_STAFF),
        "K": ("tom", "K", AssignmentRole.FULL_TIME_WORKER),
        "D1": ("erin", "D1", AssignmentRole.DEPARTMENT_LIAISON),
        "C": ("dan", "C", AssignmentRole.DISTRICT_LEADER),
    }
    users: dict[str, object] = {}
    for key, (username, grid, role) in people.items():
        user = UserFactory(username=username)
        assign(user, grids[grid], role)
        users[key] = user
    users["A1"] = users["worker"]
    users["frank"] = UserFactory(username="frank", is_staff=False)
    return users


def small_jpeg() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (32, 24), (200, 60, 40)).save(buffer, "JPEG")
    return buffer.getvalue()


def _tickets(grids, users, root) -> None:
    hazard = make_category(name="安全隐患", code="fuzz-hazard")
    police = make_category(
        name="治安", code="fuzz-police", route=Route.DEPARTMENT, department=grids["D1"]
    )
    statuses = (
        TicketStatus.SUBMITTED,
        TicketStatus.DISPATCHED,
        TicketStatus.ACCEPTED,
        TicketStatus.CLAIMABLE,
        TicketStatus.DELIBERATION,
        TicketStatus.RESOLVED,
        TicketStatus.CLOSED,
        TicketStatus.REJECTED,
    )
    for place in PLACES:
        grid, worker = grids[place], users[place]
        for status in statuses:
            ticket_in(status, category=hazard, grid=grid, reporter=users["frank"], assignee=worker)
        ticket_in(TicketStatus.RETURNED, category=hazard, grid=grid, reporter=None, assignee=None)
        if grid.tree_id == grids["C"].tree_id:
            whistled = ticket_in(
                TicketStatus.WHISTLED,
                category=police,
                grid=grid,
                reporter=users["frank"],
                assignee=worker,
                department=grids["D1"],
            )
            ticket_services.whistle_report_in(
                actor=users["D1"], whistle=whistled.whistles.get(), note="已到场"
            )
        photo = SimpleUploadedFile("p.jpg", small_jpeg(), content_type="image/jpeg")
        first = grid.tickets.order_by("pk").first()
        ticket_services.ticket_attach_photos(actor=root, ticket=first, event=None, files=[photo])
        _meeting(grid, root, hazard, users)
        start = timezone.now() + datetime.timedelta(days=2, hours=1)
        duty_shift_create(
            actor=root,
            grid=grid,
            user=worker,
            starts_at=start,
            ends_at=start + datetime.timedelta(hours=8),
        )
    for event in TicketEvent.objects.all():
        notifications_create(event=event)


def _meeting(grid: Grid, root, category, users) -> None:
    meeting = ticket_services.meeting_schedule(
        actor=root,
        grid=grid,
        title=f"{grid.name}议事会",
        scheduled_at=timezone.now() + datetime.timedelta(days=3),
    )
    ticket_services.meeting_add_item(actor=root, meeting=meeting, proposal="加装电梯")
    deliberated = grid.tickets.filter(status=TicketStatus.DELIBERATION).first()
    if deliberated is not None:
        ticket_services.meeting_add_item(actor=root, meeting=meeting, ticket=deliberated)


def _households(grids) -> dict[str, list]:
    tags = {tag.code: tag for tag in KeyGroupTag.objects.all()}
    residents: dict[str, list] = {}
    for number, place in enumerate(PLACES, start=1):
        grid = grids[place]
        home = make_household(
            grid, building=str(number), unit="1", room=f"{number}01", phone="13812345678"
        )
        make_household(grid, building=str(number), unit="2", room=f"{number}02")
        elder = make_resident(
            home,
            name=f"{place}老人",
            birth=datetime.date(1948, 3, 8),
            relation="head",
            phone="13987654321",
            tags=[tags["elderly_alone"]] if "elderly_alone" in tags else [],
        )
        young = make_resident(
            home,
            name=f"{place}青年",
            birth=datetime.date(1992, 7, 1),
            gender="female",
            relation="child",
        )
        residents[place] = [elder, young]
        residents_services.visit_log(actor=make_superuser(), household=home, findings="一切正常")
    return residents


def _campaigns(grids, root) -> None:
    deadline = timezone.now() + datetime.timedelta(days=7)
    for name in ("A", "B", "K", "C"):
        residents_services.campaign_start(
            actor=root, grid=grids[name], title=f"{grids[name].name}敲门行动", deadline=deadline
        )


def _volunteering(grids, users, residents, root) -> None:
    kind = TeamKind.objects.order_by("pk").first()
    for place in PLACES:
        grid = grids[place]
        elder, young = residents[place]
        volunteer = make_volunteer(grid, resident=young, name=young.name)
        team = volunteer_services.team_create(
            actor=root, grid=grid, kind=kind, name=f"{grid.name}志愿队", leader=volunteer
        )
        helper = make_volunteer(grid, resident=elder, name=elder.name)
        volunteer_services.team_add_member(actor=root, team=team, volunteer=helper)
        activity = make_activity(grid, team=team)
        volunteer_services.signup_create(actor=root, activity=activity, volunteer=volunteer)
        make_rule(grid, RuleKind.AWARD, 5, code="good-deed", name="好人好事")
        account = volunteer_services.account_for(resident=young)
        fund(account, 50, grid)
        shop = make_shop(grid, name=f"{grid.name}积分超市")
        item = make_item(shop, name="洗衣液", price=10)
        volunteer_services.redemption_create(actor=root, item=item, account=account)
        volunteer_services.account_for(household=elder.household)


def _party(grids, residents, root) -> None:
    branch_a = make_party_organization(grids["A"], PartyOrganizationKind.BRANCH, name="A支部")
    branch_b = make_party_organization(grids["B"], PartyOrganizationKind.BRANCH, name="B支部")
    police = make_party_organization(grids["D1"], PartyOrganizationKind.BRANCH, name="公安支部")
    PartyMember.objects.create(resident=residents["A1"][0], organization=branch_a)
    PartyMember.objects.create(resident=residents["B1"][0], organization=branch_b)
    for username, community, grid in (("mo", "A", "A1"), ("max", "B", "B1")):
        member = PartyMember.objects.create(
            user=UserFactory(username=username, is_staff=False),
            organization=police,
            status=PartyMemberStatus.IN_SERVICE,
        )
        volunteer_services.pairing_create(
            actor=root, organization=police, community=grids[community]
        )
        volunteer_services.registration_create(
            actor=root, party_member=member, grid=grids[grid], organization=police
        )


def _open311(grids, users) -> None:
    """Two requests posted by the integrator through GeoReport: one located by its
    coordinates with a citizen's phone and name, one by a grid code. What they carry
    about the citizen must never come out of the public Open311 reads."""
    client = users["integrator"]
    hazard = Category.objects.get(code="fuzz-hazard")
    open311_services.request_submit(
        client=client,
        submission=Submission(
            service_code=hazard.code,
            lat=30.05,
            lng=100.05,
            first_name="张",
            last_name="三丰",
            phone="13911112222",
            email="zhang.sanfeng@example.org",
            description="小区门口井盖缺失",
        ),
    )
    open311_services.request_submit(
        client=client,
        submission=Submission(
            service_code=hazard.code, address_id=grids["B1"].code, description="路灯不亮"
        ),
    )


def build() -> FuzzWorld:
    """Everything, through the services (about two seconds on PostgreSQL)."""
    root = make_superuser()
    grids = _grids()
    users = _people(grids)
    residents = _households(grids)
    _party(grids, residents, root)
    _tickets(grids, users, root)
    _campaigns(grids, root)
    _volunteering(grids, users, residents, root)
    _open311(grids, users)
    tokens = {persona: Token.objects.create(user=users[persona]).key for persona in PERSONAS}
    get_user_model().objects.filter(pk=root.pk).update(is_active=True)
    return FuzzWorld(grids=grids, tokens=tokens, users=users)
