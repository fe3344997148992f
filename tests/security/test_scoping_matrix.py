"""The scoping matrix: every URL of the project, for every role, against objects in the
role's own part of the tree, in a sibling's part and above it.

The rule (``grids/scoping.py``, README "Scoping"): every role sees its grid's subtree; an
object outside one's scope is a 404, never a 403 (its existence is not disclosed); inside
it, a change the role may not make is a 403. Departures from the rule, each written where
the project decided it:

* the admin answers an object outside the scope like a missing one: a redirect to its
  index (Django's own behaviour for a missing object);
* dashboards answer 403 for a grid outside the scope (``governance/dashboard/access.py``:
  leaders know their neighbours exist);
* volunteering reaches *up* (``volunteers/selectors/reach.py``): activities, teams, shops,
  their items and points rules of the grids above one's own are visible, since township-
  and county-wide activities are organised there; campaigns likewise are seen from the
  grids they cover (``residents.selectors.campaign_list``);
* a department liaison sees the tickets and whistles whistled to their department, where
  ever the ticket's grid is (``tickets.selectors``).

Places, per role (``ROLES``): *own* is a grid inside the role's scope, *sibling* a grid
beside it and *ancestor* a grid above it; every kind of object is built at every place
where it can exist (a household cannot live on a county). A resident without a role owns
a ticket and a notification (own) and sees nobody else's (sibling); anonymous callers are
sent to sign in.

Coverage: every URL pattern with an object in its path is either probed here or listed in
``NOT_PROBED`` with the reason; a new URL with neither fails ``test_every_url_is_covered``.
"""

from __future__ import annotations

import datetime
import io
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest
from django.contrib import admin
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import transaction
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from django.utils import timezone
from PIL import Image
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from grids.models import AssignmentRole, Grid, GridLevel, PartyOrganizationKind
from grids.roles import CHANGE_ROLES
from hotline import services as hotline_services
from hotline.columns import OrderValues
from open311.models import Open311Request
from residents import services as residents_services
from residents.models import PartyMember, UnitHeadship
from tests.grids.factories import UserFactory, assign, make_grid, make_party_organization
from tests.grids.factories import superuser as root_user
from tests.residents.factories import make_household, make_resident
from tests.tickets.factories import make_category, open_ticket
from tests.volunteers.factories import fund, make_activity, make_item, make_shop, make_volunteer
from tickets import routing
from tickets import services as ticket_services
from tickets.models import Notification
from tickets.services import meetings as meeting_services
from tickets.views import reporter_link_token
from volunteers import services as volunteer_services
from volunteers.models import TeamKind
from webhooks import services as webhook_services
from webhooks.models import EventType

WHERE = ("own", "sibling", "ancestor")


# --- roles and their places --------------------------------------------------------------------


@dataclass(frozen=True)
class Role:
    assignment: str | None  # the AssignmentRole held on ``home`` (None: no grid role)
    home: str | None
    own: str | None = None
    sibling: str | None = None
    ancestor: str | None = None
    signed_in: bool = True
    staff: bool = True

    def place(self, where: str) -> str | None:
        return getattr(self, where)


ESTATE_PLACES = {"own": "A1", "sibling": "A2", "ancestor": "A"}
ROLES: dict[str, Role] = {
    "grid_worker": Role(AssignmentRole.FULL_TIME_WORKER, "A1", **ESTATE_PLACES),
    "grid_leader": Role(AssignmentRole.GRID_LEADER, "A1", **ESTATE_PLACES),
    "unit_head": Role(AssignmentRole.UNIT_HEAD, "A1", **ESTATE_PLACES),
    "community_staff": Role(
        AssignmentRole.COMMUNITY_STAFF, "A", own="A", sibling="B", ancestor="T1"
    ),
    "district_leader": Role(
        AssignmentRole.DISTRICT_LEADER, "T1", own="A", sibling="T2c", ancestor="C"
    ),
    "department_liaison": Role(
        AssignmentRole.DEPARTMENT_LIAISON, "D1", own="D1", sibling="D2", ancestor="C"
    ),
    # no grid role: their own ticket and notification are "own", a neighbour's "sibling";
    # the grid objects of "ancestor" (A1) are none of theirs
    "resident": Role(None, None, own=None, sibling=None, ancestor="A1", staff=False),
    "anonymous": Role(None, None, ancestor="A1", signed_in=False, staff=False),
}
PLACES = ("A1", "A2", "A", "B", "T1", "T2c", "C", "D1", "D2")
HOUSEHOLD_PLACES = {"A1", "A2", "A", "B", "T2c"}  # communities, estates, micro grids
MEETING_PLACES = HOUSEHOLD_PLACES
COMMUNITY_PLACES = {"A", "B", "T2c"}
TERRITORIAL_PLACES = {"A1", "A2", "A", "B", "T1", "T2c", "C"}
DEPARTMENT_PLACES = {"D1", "D2"}

# Kinds seen from below (module docstring): visible at "ancestor" as well as "own".
SEEN_FROM_BELOW = {"activity", "team", "shop", "shop_item", "rule", "campaign"}
# Kinds a department liaison sees by department (whistled to it) on the API and pages;
# the admin keeps to the grid scope.
SEEN_BY_DEPARTMENT = {"ticket"}
LIAISON = AssignmentRole.DEPARTMENT_LIAISON
# Kinds that belong to people, not grids: visible to their owner only.
PERSONAL = {"notification", "my_ticket", "my_subscription", "my_delivery"}
HOOK_URL = "https://hooks.example.org/grid-events"


def _image(name: str = "photo.png") -> SimpleUploadedFile:
    buffer = io.BytesIO()
    Image.new("RGB", (8, 8), "green").save(buffer, format="PNG")
    return SimpleUploadedFile(name, buffer.getvalue(), content_type="image/png")


# --- the furnished world -----------------------------------------------------------------------


@dataclass
class Furnished:
    users: dict[str, Any] = field(default_factory=dict)
    objects: dict[str, dict[str, Any]] = field(default_factory=dict)

    def put(self, kind: str, place: str, obj: Any) -> None:
        if obj is not None:
            self.objects.setdefault(kind, {})[place] = obj

    def at(self, kind: str, place: str | None) -> Any:
        return self.objects.get(kind, {}).get(place) if place else None


def _grids(world) -> dict[str, Grid]:
    t2c = make_grid(world.T2, GridLevel.COMMUNITY, name="社区T2c", box=(100.5, 30.0, 101.0, 30.5))
    grids = {name: getattr(world, name) for name in ("A1", "A2", "A", "B", "T1", "C", "D1", "D2")}
    grids["T2c"] = t2c
    return {name: Grid.objects.get(pk=grid.pk) for name, grid in grids.items()}


def _people(world, grids) -> dict[str, Any]:
    users = {}
    for key, role in ROLES.items():
        if not role.signed_in:
            continue
        user = UserFactory(username=f"m_{key}", is_staff=role.staff)
        if role.assignment:
            assign(user, grids[role.home], role.assignment)
        users[key] = user
    users["someone"] = UserFactory(username="m_someone")
    users["neighbour"] = UserFactory(username="m_neighbour", is_staff=False)
    return users


def _ticket(f: Furnished, cat, grid: Grid, title: str, **extra):
    """A ticket reported by the neighbour, a resident without a grid role."""
    return open_ticket(category=cat, grid=grid, title=title, reporter=f.users["neighbour"], **extra)


def _furnish_place(f: Furnished, place: str, grid: Grid, *, d1: Grid, d2: Grid, cat) -> None:
    root = root_user()
    someone = f.users["someone"]
    now = timezone.now()

    f.put("grid", place, grid)
    role = (
        AssignmentRole.DEPARTMENT_LIAISON
        if place in DEPARTMENT_PLACES
        else AssignmentRole.DISTRICT_LEADER
    )
    f.put("assignment", place, assign(someone, grid, role))
    org = make_party_organization(grid, PartyOrganizationKind.BRANCH, name=f"{place}支部")
    f.put("party_org", place, org)

    if place in DEPARTMENT_PLACES:
        # a department's tickets: whistled to it from a grid no other probe looks at
        ticket = _ticket(f, cat, f.at("grid", "T2c"), f"吹哨{place}")
        ticket_services.ticket_dispatch(actor=root, ticket=ticket, departments=[grid])
        f.put("ticket", place, ticket)
        f.put("whistle", place, ticket.whistles.get())
        return

    # territorial places: tickets, one with a photo, one whistled (to D2: the liaison of D1
    # must not see it), one in deliberation for the agenda
    ticket = _ticket(f, cat, grid, f"问题{place}", photos=[_image()])
    f.put("ticket", place, ticket)
    f.put("ticket_photo", place, ticket.photos.first())
    f.put(
        "open311_request", place, Open311Request.objects.create(ticket=ticket, token=f"t-{place}")
    )
    values = OrderValues(
        number=f"12345-{place}",
        called_at=None,
        caller="王女士",
        phone="13912345678",
        address=f"{grid.name}3号楼下",
        content="楼下路灯不亮",
        category_text="",
        deadline=None,
        lat=None,
        lng=None,
    )
    f.put(
        "hotline_order",
        place,
        hotline_services.order_receive(actor=root, values=values, area=grid).order,
    )
    whistled = _ticket(f, cat, grid, f"吹哨{place}")
    ticket_services.ticket_dispatch(actor=root, ticket=whistled, departments=[d2])
    f.put("whistle", place, whistled.whistles.get())
    f.put(
        "duty_shift",
        place,
        routing.duty_shift_create(
            actor=root,
            grid=grid,
            user=someone,
            starts_at=now
            + datetime.timedelta(days=1, hours=2 * len(f.objects.get("duty_shift", {}))),
            ends_at=now
            + datetime.timedelta(days=1, hours=2 * len(f.objects.get("duty_shift", {})) + 1),
        ),
    )

    # volunteering
    volunteer = make_volunteer(grid, user=UserFactory(username=f"m_vol_{place}", is_staff=False))
    f.put("volunteer", place, volunteer)
    team = volunteer_services.team_create(
        actor=root, grid=grid, kind=TeamKind.objects.first(), name=f"服务队{place}"
    )
    f.put("team", place, team)
    activity = make_activity(grid, title=f"活动{place}")
    f.put("activity", place, activity)
    f.put(
        "signup",
        place,
        volunteer_services.signup_create(actor=root, activity=activity, volunteer=volunteer),
    )
    shop = make_shop(grid, name=f"超市{place}")
    f.put("shop", place, shop)
    item = make_item(shop, name=f"毛巾{place}", price=5, photo=_image("item.png"))
    f.put("shop_item", place, item)

    if place in HOUSEHOLD_PLACES:
        _furnish_households(f, place, grid, cat=cat, org=org, item=item)
    f.put(
        "campaign",
        place,
        residents_services.campaign_start(
            actor=root, grid=grid, title=f"敲门{place}", deadline=now + datetime.timedelta(days=7)
        ),
    )
    household = f.at("household", place)
    if household is not None:
        f.put("campaign_task", place, f.at("campaign", place).tasks.get(household=household))


def _furnish_households(f: Furnished, place: str, grid: Grid, *, cat, org, item) -> None:
    """What lives on a community, estate or micro grid: households and their people."""
    root = root_user()
    now = timezone.now()
    household = make_household(grid, building="1", unit="1", room=f"{place}01")
    f.put("household", place, household)
    resident = make_resident(household, name=f"居民{place}")
    f.put("resident", place, resident)
    f.put(
        "visit",
        place,
        residents_services.visit_log(actor=root, household=household, photo=_image("door.png")),
    )
    f.put(
        "unit_headship",
        place,
        UnitHeadship.objects.create(resident=resident, grid=grid, building="1", unit="1"),
    )
    member = PartyMember.objects.create(resident=resident, organization=org)
    f.put("party_member", place, member)
    account = volunteer_services.account_for(resident=resident)
    award = fund(account, 50, grid)
    f.put("points_account", place, account)
    f.put("points_award", place, award)
    f.put("points_entry", place, account.entries.get())
    f.put("rule", place, award.rule)
    f.put(
        "redemption",
        place,
        volunteer_services.redemption_create(actor=root, item=item, account=account),
    )
    f.put(
        "dual_registration",
        place,
        volunteer_services.registration_create(actor=root, party_member=member, grid=grid),
    )
    # a meeting with a ticket on its agenda
    meeting = meeting_services.meeting_schedule(
        actor=root, grid=grid, title=f"议事{place}", scheduled_at=now + datetime.timedelta(days=2)
    )
    f.put("meeting", place, meeting)
    debated = _ticket(f, cat, grid, f"议题{place}")
    ticket_services.ticket_send_to_deliberation(actor=root, ticket=debated)
    f.put(
        "agenda_item",
        place,
        meeting_services.meeting_add_item(actor=root, meeting=meeting, ticket=debated),
    )
    if place in COMMUNITY_PLACES:
        f.put(
            "unit_pairing",
            place,
            volunteer_services.pairing_create(
                actor=root, organization=f.at("party_org", "D1"), community=grid
            ),
        )


def _furnish_people(f: Furnished, cat) -> None:
    """What residents own: a ticket each, reported without a grid role, taken in hand so
    that its reporter is told (a notification of their own)."""
    root, someone = root_user(), f.users["someone"]
    for key in ("resident", "neighbour"):
        ticket = open_ticket(
            category=cat, grid=f.at("grid", "A1"), title=f"{key}的问题", reporter=f.users[key]
        )
        ticket_services.ticket_dispatch(actor=root, ticket=ticket, assignee=someone)
        ticket_services.ticket_accept(actor=someone, ticket=ticket)
        f.put("my_ticket", key, ticket)


def _subscribe(owner, grid: Grid):
    subscription, _secret = webhook_services.subscription_create(
        actor=owner, grid=grid, url=HOOK_URL, event_types=[EventType.TICKET_OPENED]
    )
    return subscription


def _furnish_webhooks(f: Furnished, cat) -> None:
    """Integrators' subscriptions (their owner's on the API, their grid's in the admin)
    and the deliveries one more ticket makes for them (sent after a commit: never here)."""
    for place in TERRITORIAL_PLACES:
        f.put("subscription", place, _subscribe(f.users["someone"], f.at("grid", place)))
    for key, role in ROLES.items():
        if role.home and role.home not in DEPARTMENT_PLACES:
            f.put("my_subscription", key, _subscribe(f.users[key], f.at("grid", role.home)))
    f.put("my_subscription", "neighbour", f.at("subscription", "A1"))
    _ticket(f, cat, f.at("grid", "A1"), "再来一单")
    for store, kind in (("subscription", "delivery"), ("my_subscription", "my_delivery")):
        for key, subscription in list(f.objects[store].items()):
            f.put(kind, key, subscription.deliveries.first())


@pytest.fixture
def furnished(world, settings, tmp_path) -> Furnished:
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.WEBHOOKS_ALLOW_PRIVATE_TARGETS = False
    grids = _grids(world)
    f = Furnished(users=_people(world, grids))
    cat = make_category(name="环境问题")
    for place in ("D1", "D2"):  # departments first: pairings use D1's branch
        f.put("grid", place, grids[place])
    f.put("grid", "T2c", grids["T2c"])
    for place in ("D1", "D2", *[p for p in PLACES if p not in DEPARTMENT_PLACES]):
        _furnish_place(f, place, grids[place], d1=grids["D1"], d2=grids["D2"], cat=cat)
    _furnish_people(f, cat)
    _furnish_webhooks(f, cat)
    for key, user in f.users.items():  # each person's newest notification, if any
        f.put("notification", key, Notification.objects.filter(recipient=user).last())
    return f


def personal_key(role_key: str, where: str) -> str | None:
    """Whose personal object a role probes: their own, or their neighbour's."""
    return {"own": role_key, "sibling": "neighbour"}.get(where)


def target(f: Furnished, role_key: str, kind: str, where: str) -> Any:
    if kind in PERSONAL:
        if kind == "my_ticket" and ROLES[role_key].assignment:
            return None  # a grid role sees the neighbour's ticket by its grid: not personal
        return f.at(kind, personal_key(role_key, where))
    return f.at(kind, ROLES[role_key].place(where))


def visible(role_key: str, kind: str, where: str, surface: str = "api") -> bool:
    """Whether the role may see the object (the module docstring's rule). The admin keeps
    to the grid scope: what volunteering reaches above it is not listed there."""
    role = ROLES[role_key]
    if not role.signed_in:
        return False
    if kind in PERSONAL:
        return where == "own"
    if role.assignment is None:
        return False
    if where == "own":
        return not (
            surface == "admin" and kind in SEEN_BY_DEPARTMENT and role.assignment == LIAISON
        )
    return where == "ancestor" and kind in SEEN_FROM_BELOW and surface != "admin"


def may_change(role_key: str) -> bool:
    return ROLES[role_key].assignment in CHANGE_ROLES


# --- the URLs ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Route:
    name: str  # namespaced URL name, or the pattern itself when it has no name
    pattern: str
    params: tuple[str, ...]
    callback: Callable

    @property
    def viewset(self) -> str | None:
        cls = getattr(self.callback, "cls", None)
        return cls.__name__ if cls is not None and hasattr(self.callback, "actions") else None

    @property
    def methods(self) -> list[str]:
        return list(getattr(self.callback, "actions", {}) or {})


# Path parameters that name no object: formats, actions, steps, the admin's catch-all.
NOT_AN_OBJECT = {"format", "fmt", "action", "step", "url", "app_label"}


def _routes(patterns=None, prefix: str = "", namespace: str = "") -> list[Route]:
    found = []
    for entry in patterns if patterns is not None else get_resolver().url_patterns:
        if isinstance(entry, URLResolver):
            ns = ":".join(filter(None, [namespace, entry.namespace]))
            found += _routes(entry.url_patterns, prefix + str(entry.pattern), ns)
        elif isinstance(entry, URLPattern):
            pattern = prefix + str(entry.pattern)
            params = tuple(entry.pattern.regex.groupindex) + tuple(
                f"_{i}"
                for i in range(entry.pattern.regex.groups - len(entry.pattern.regex.groupindex))
            )
            name = f"{namespace}:{entry.name}" if namespace and entry.name else entry.name
            found.append(Route(name or pattern, pattern, params, entry.callback))
    return found


def object_routes() -> dict[str, Route]:
    """URL patterns with an object in their path, by name (format-suffix twins dropped)."""
    routes: dict[str, Route] = {}
    for route in _routes():
        if "format" in route.params:
            continue
        if set(route.params) - NOT_AN_OBJECT:
            routes.setdefault(route.name, route)
    return routes


# --- what is probed ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Probe:
    route: str  # URL name
    kind: str
    method: str = "get"
    kwargs: Callable[[Any], dict | list] | None = None  # from the object; default {"pk": pk}
    query: dict | None = None
    hidden: int = 404  # the answer for an object out of scope
    visible: int | None = 200  # for GET: the answer in scope (None: any but 404/405/5xx)
    changes: bool = False  # GET in scope answers 200 to roles that change, 403 to readers

    def url(self, obj: Any) -> str | None:
        try:
            kwargs = self.kwargs(obj) if self.kwargs else {"pk": obj.pk}
        except (AttributeError, LookupError):
            return None  # this object has no such part (a ticket without a photo)
        if kwargs is None:
            return None
        if isinstance(kwargs, list):  # a pattern with unnamed groups
            return reverse(self.route, args=kwargs)
        return reverse(self.route, kwargs=kwargs)


# The API: every route of these viewsets is probed, with the kind(s) of object it serves.
API_KINDS: dict[str, str | tuple[str, ...]] = {
    "GridViewSet": "grid",
    "AssignmentViewSet": "assignment",
    "PartyOrganizationViewSet": "party_org",
    "HouseholdViewSet": "household",
    "ResidentViewSet": "resident",
    "VisitViewSet": "visit",
    "CampaignViewSet": "campaign",
    "CampaignTaskViewSet": "campaign_task",
    "TicketViewSet": ("ticket", "my_ticket"),
    "WhistleViewSet": "whistle",
    "MeetingViewSet": "meeting",
    "AgendaItemViewSet": "agenda_item",
    "NotificationViewSet": "notification",
    "DutyShiftViewSet": "duty_shift",
    "VolunteerViewSet": "volunteer",
    "TeamViewSet": "team",
    "ActivityViewSet": "activity",
    "SignupViewSet": "signup",
    "AccountViewSet": "points_account",
    "EntryViewSet": "points_entry",
    "RuleViewSet": "rule",
    "AwardViewSet": "points_award",
    "ShopViewSet": "shop",
    "ItemViewSet": "shop_item",
    "RedemptionViewSet": "redemption",
    "PairingViewSet": "unit_pairing",
    "RegistrationViewSet": "dual_registration",
    "ServiceRecordViewSet": "party_member",
    "HotlineOrderViewSet": "hotline_order",
    "SubscriptionViewSet": "my_subscription",
    "DeliveryViewSet": "my_delivery",
}
API_KWARGS = {"ticket-photo": lambda t: {"pk": t.pk, "photo_pk": t.photos.all()[0].pk}}
# GETs for those who run the grid (dispatchers, organisers): 403 to readers.
API_CHANGES = {"ticket-possible-duplicates", "volunteer-activity-attendance"}
# Actions that read their body before the object: a valid one, so the lookup is reached.
API_BODIES: dict[str, Callable[[Furnished, str], dict]] = {
    "whistle-reply": lambda f, role: {"reply": "收到"},
    "points-entry-reverse": lambda f, role: {"note": "更正"},
    "volunteer-team-remove-member": lambda f, role: _a_volunteer_they_see(f, role),
}


def _a_volunteer_they_see(f: Furnished, role_key: str) -> dict | None:
    """A volunteer the caller may name (the field is checked before the team is looked
    up); None when they see none, and the lookup cannot be reached at all."""
    from volunteers.selectors import volunteer_list

    user = f.users.get(role_key)
    volunteer = volunteer_list(user=user).first() if user is not None else None
    return {"volunteer": volunteer.pk} if volunteer is not None else None


def _meeting(meeting) -> dict:
    return {"meeting_id": meeting.pk}


def _item(item) -> dict:
    return {"meeting_id": item.meeting_id, "item_id": item.pk}


# Pages: each URL with its object (the API's are derived above, the admin's below).
PAGE_PROBES = [
    Probe("grids:detail", "grid"),
    Probe(
        "dashboard:department",
        "grid",
        kwargs=lambda g: {"pk": g.pk} if g.kind == "industry" else None,
        hidden=403,
    ),
    Probe("residents:household_archive", "household"),
    Probe("residents:visit_log", "household", "post"),
    Probe("residents:resident_reveal", "resident", "post"),
    Probe("residents:visit_photo", "visit"),
    Probe("residents:campaign_task_record", "campaign_task"),
    Probe("tickets:ticket_detail", "ticket"),
    Probe("tickets:ticket_detail", "my_ticket"),
    Probe("tickets:ticket_act", "ticket", "post", lambda t: {"pk": t.pk, "action": "accept"}),
    Probe("tickets:ticket_rate", "my_ticket", visible=None),
    Probe("tickets:ticket_rate", "ticket", visible=None),
    Probe("tickets:whistle_act", "whistle", "post", lambda w: {"pk": w.pk, "action": "report-in"}),
    Probe("tickets:ticket_photo", "ticket_photo"),
    Probe("volunteers:activity_detail", "activity"),
    Probe("volunteers:activity_sign_up", "activity", "post"),
    Probe("volunteers:activity_code", "activity", "post"),
    Probe("volunteers:attendance", "activity", changes=True),
    Probe("volunteers:attendance_confirm_all", "activity", "post"),
    Probe(
        "volunteers:attendance_step",
        "signup",
        "post",
        lambda s: {"pk": s.activity_id, "signup_pk": s.pk, "step": "check-in"},
    ),
    Probe("volunteers:redeem", "shop_item", "post"),
    Probe("volunteers:item_photo", "shop_item"),
    Probe("volunteers:redemption_cancel", "redemption", "post"),
    # the admin's own pages beside the model admin's
    # (the meeting pages are the admin's, but answer a meeting out of scope with a 404)
    Probe("admin:tickets_meeting_record", "meeting", kwargs=_meeting, changes=True),
    Probe("admin:tickets_meeting_cancel", "meeting", kwargs=_meeting, changes=True),
    Probe("admin:tickets_meeting_add_item", "meeting", kwargs=_meeting),
    Probe("admin:tickets_meeting_decide", "agenda_item", kwargs=_item, changes=True),
    Probe("admin:tickets_meeting_withdraw", "agenda_item", "post", kwargs=_item),
    Probe("admin:hotline_hotlineorder_place", "hotline_order", changes=True),
]
# The dashboards take their grid as a parameter; out of scope is a 403 (module docstring).
QUERY_PROBES = [
    Probe("dashboard:dashboard", "grid", kwargs=lambda g: {}, query={}, hidden=403),
    Probe("dashboard:export", "grid", kwargs=lambda g: {"fmt": "xlsx"}, query={}, hidden=403),
    Probe("dashboard-list", "grid", kwargs=lambda g: {}, query={}, hidden=403),
]

# The admin: every registered model with the kind of its objects; each is probed on its
# change, history and delete pages (and simple-history's page of one past version).
ADMIN_KINDS = {
    "grids.Grid": "grid",
    "grids.GridAssignment": "assignment",
    "grids.PartyOrganization": "party_org",
    "residents.Household": "household",
    "residents.Resident": "resident",
    "residents.Visit": "visit",
    "residents.Campaign": "campaign",
    "residents.PartyMember": "party_member",
    "residents.UnitHeadship": "unit_headship",
    "tickets.Ticket": "ticket",
    "tickets.Meeting": "meeting",
    "tickets.DutyShift": "duty_shift",
    "volunteers.Volunteer": "volunteer",
    "volunteers.VolunteerTeam": "team",
    "volunteers.Activity": "activity",
    "volunteers.UnitPairing": "unit_pairing",
    "volunteers.DualRegistration": "dual_registration",
    "volunteers.PointsRule": "rule",
    "volunteers.PointsAccount": "points_account",
    "volunteers.PointsEntry": "points_entry",
    "volunteers.PointsAward": "points_award",
    "volunteers.Shop": "shop",
    "volunteers.ShopItem": "shop_item",
    "volunteers.Redemption": "redemption",
    "hotline.HotlineOrder": "hotline_order",
    "open311.Open311Request": "open311_request",
    "webhooks.Subscription": "subscription",
    "webhooks.Delivery": "delivery",
}

# URLs with an object in their path that the matrix does not walk, and why.
NOT_PROBED = {
    # configuration shared by the whole installation, not hung on a grid: superusers
    # change it, everyone signed in may read it
    "KeyGroupTagViewSet": "key-group tags are global configuration",
    "CategoryViewSet": "ticket categories are global configuration",
    "TeamKindViewSet": "volunteer team kinds are global configuration",
    "admin:auth.Group": "groups: superusers only (the admin's permissions come from roles)",
    "admin:authtoken.TokenProxy": "tokens: superusers only",
    "admin:accounts.User": "accounts: superusers only",
    "admin:auth_user_password_change": "accounts: superusers only",
    "admin:residents.KeyGroupTag": "global configuration",
    "admin:tickets.Category": "global configuration",
    "admin:volunteers.TeamKind": "global configuration",
    "admin:volunteers.CategoryDifficulty": "global configuration (one row per category)",
    "admin:open311.Service": "global configuration (the Open311 service list)",
    "admin:axes.AccessAttempt": "sign-in records: superusers only (tests/security/test_lockout.py)",
    "admin:axes.AccessLog": "sign-in records: superusers only",
    "admin:axes.AccessFailureLog": "sign-in records: superusers only",
    "admin:residents.PersonalDataAccess": (
        "the access log: auditors only (tests/residents/test_admin.py::"
        "test_access_log_only_for_auditors)"
    ),
    "admin:view_on_site": "no model has get_absolute_url: a 404 for every object",
    "admin:residents_household_import_job": (
        "an import job belongs to whoever started it (tests/residents/test_import_export.py)"
    ),
    "admin:hotline_hotlineorder_import_job": "an import belongs to its uploader (tests/hotline)",
    "HotlineImportViewSet": (
        "an import belongs to its uploader (hotline.selectors.import_jobs; tests/hotline)"
    ),
    # Open311 (GeoReport v2) is public by design: anyone may read a service request; what
    # a row shows (public channels, no personal data) is open311/selectors.py's and
    # tests/open311's business, not the grid scope's
    "open311:service": "public by design (GeoReport v2 service definition)",
    "open311:request": "public by design (GeoReport v2 service request)",
    "open311:token": "public by design (GeoReport v2 token lookup)",
    # the reporter's private page: the signed token is the key, not the grid scope
    "tickets:follow": "signed link, tested below (test_the_private_link_opens_only_its_ticket)",
    "tickets:follow_photo": "signed link, tested below",
    "volunteers:activity_cancel": (
        "cancels the caller's own sign-up: 404 without one, whatever the scope "
        "(tests/volunteers/test_pages.py)"
    ),
}
# The admin's bare "<object_id>/" URLs only redirect to the change page.
ADMIN_REDIRECT = "admin/"


def api_probes() -> list[Probe]:
    probes = []
    for name, route in object_routes().items():
        kinds = API_KINDS.get(route.viewset or "", ())
        methods = route.methods
        kwargs = API_KWARGS.get(name)
        for kind in _kinds(kinds):
            if "get" in methods:
                probes.append(Probe(name, kind, "get", kwargs, changes=name in API_CHANGES))
            if "patch" in methods:
                probes.append(Probe(name, kind, "patch", kwargs))
            if "get" not in methods and "patch" not in methods:
                probes.append(Probe(name, kind, methods[0], kwargs))
    return probes


def _version(obj) -> list:
    return [obj.pk, obj.history.latest().history_id]


def admin_probes() -> list[Probe]:
    probes = []
    for model, model_admin in admin.site._registry.items():
        kind = ADMIN_KINDS.get(model._meta.label)
        if kind is None:
            continue
        info = f"admin:{model._meta.app_label}_{model._meta.model_name}"
        by_id = lambda obj: {"object_id": obj.pk}  # noqa: E731
        probes += [
            Probe(f"{info}_change", kind, kwargs=by_id, hidden=302),
            Probe(f"{info}_history", kind, kwargs=by_id, hidden=302),
            Probe(f"{info}_delete", kind, kwargs=by_id, hidden=302, visible=None),
        ]
        if any(p.name == f"{info[6:]}_simple_history" for p in model_admin.get_urls()):
            probes.append(Probe(f"{info}_simple_history", kind, kwargs=_version, hidden=302))
    return probes


def all_probes() -> list[Probe]:
    return [*api_probes(), *PAGE_PROBES, *admin_probes()]


# --- the walk ----------------------------------------------------------------------------------


def _clients(f: Furnished, role_key: str):
    from django.test import Client

    api, web = APIClient(), Client()
    user = f.users.get(role_key)
    if user is not None:
        token, _created = Token.objects.get_or_create(user=user)
        api.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
        web.force_login(user)
    return api, web


def _surface(path: str) -> str:
    if path.startswith("/admin/"):
        return "admin"
    if path.startswith(("/api/", "/open311/")):
        return "api"
    return "page"


# Answers that depart from the rule for a reason, by (URL name or admin model, place).
OVERRIDES: dict[tuple[str, str], tuple[int, str]] = {
    ("volunteers:attendance_step", "ancestor"): (
        403,
        "the activity above is reached by volunteering; its attendance is its organisers'",
    ),
    ("admin:volunteers.PointsRule", "ancestor"): (
        403,
        "the rules admin lists the rules that apply from above, to read on the rules page",
    ),
}
# Admin lists that show what applies from above (to read, not to open: OVERRIDES).
ADMIN_LISTS_ABOVE = {"rule"}
# Admin pages for the staff who change the grid only (open311/admin.py: what a civic app
# sent about its citizen, shown to those who see a reporter's phone in full).
ADMIN_FOR_CHANGERS = {"open311_request"}
# Known gaps, answered as written here until fixed (see the security report): the residents'
# history pages (django-simple-history) answer 403 for an object out of scope, where a
# missing one is a 404, so a 403 tells that the object exists.
# Routes whose out-of-scope answer is known to differ from the rule (none today: the
# residents' history pages answer like missing objects since they use ReadOnlyHistoryAdmin).
KNOWN_GAPS: dict[str, tuple[int, str]] = {}


def _expected(
    probe: Probe, role_key: str, where: str, surface: str, label: str
) -> tuple[set[int], str]:
    """The answers allowed, and the rule's name for a failure message."""
    role = ROLES[role_key]
    if not role.signed_in:
        return ({401, 403}, "anonymous: sign in") if surface == "api" else ({302}, "sign in")
    if surface == "admin" and not role.staff:
        return {302}, "not staff: the admin's sign-in"
    keys = [(probe.route, where)] + ([(f"admin:{label}", where)] if surface == "admin" else [])
    for key in keys:
        if key in OVERRIDES and role.assignment:
            status, why = OVERRIDES[key]
            return {status}, why
    if not visible(role_key, probe.kind, where, surface):
        if probe.route in KNOWN_GAPS:
            status, why = KNOWN_GAPS[probe.route]
            return {status}, why
        if surface == "admin":
            # as for a missing object (the walk compares): the admin redirects, or refuses
            # when the right is checked before the object is looked up (delete pages)
            return {302, 403, 404}, "out of scope: as for a missing object"
        return {probe.hidden}, "out of scope"
    if surface == "admin" and probe.kind in ADMIN_FOR_CHANGERS and not may_change(role_key):
        return {302, 403}, "in scope, but shown to those who see reporters' details only"
    if probe.method != "get" or probe.visible is None:
        return set(), "in scope: reachable"
    if probe.changes and (not may_change(role_key) or where == "ancestor"):
        return {403}, "in scope, but not theirs to run"
    return {probe.visible}, "in scope"


def _reachable(status: int, surface: str, method: str) -> bool:
    """In scope, whatever the business rules answer: not hidden, not broken."""
    if surface == "admin" and method == "get":
        return status in (200, 403)
    return status not in (404, 405) and status < 500


def _ask(client, method: str, path: str, query: dict | None, body: dict):
    """One request, rolled back afterwards: a probe changes nothing for the next one."""
    with transaction.atomic():
        if method == "get":
            response = client.get(path, query or {})
        else:
            response = getattr(client, method)(path, body, content_type="application/json")
        transaction.set_rollback(True)
    return response


MISSING_PK = 987654321


def _missing(path: str, obj: Any) -> str:
    """The same URL for an object that does not exist."""
    return path.replace(f"/{obj.pk}/", f"/{MISSING_PK}/", 1)


def walk(f: Furnished, role_key: str, probes: list[Probe]) -> tuple[dict[str, int], list[str]]:
    """Every probe against the role's own, sibling and ancestor objects: how many were
    asked at each place, and the failures."""
    api, web = _clients(f, role_key)
    failures: list[str] = []
    asked = dict.fromkeys(WHERE, 0)
    for probe in probes:
        for where in WHERE:
            obj = target(f, role_key, probe.kind, where)
            path = probe.url(obj) if obj is not None else None
            if path is None:
                continue
            surface = _surface(path)
            client = api if surface == "api" else web
            query = {"grid": obj.pk} if probe.query is not None else None
            body = API_BODIES[probe.route](f, role_key) if probe.route in API_BODIES else {}
            if body is None:
                continue
            response = _ask(client, probe.method, path, query, body)
            asked[where] += 1
            allowed, rule = _expected(probe, role_key, where, surface, obj._meta.label)
            status = response.status_code
            ok = status in allowed if allowed else _reachable(status, surface, probe.method)
            if ok and surface == "admin" and rule.startswith("out of scope"):
                missing = _ask(client, probe.method, _missing(path, obj), query, body)
                if missing.status_code != status:
                    ok, rule = (
                        False,
                        f"out of scope: as for a missing object ({missing.status_code})",
                    )
            if not ok:
                failures.append(
                    f"{role_key} {probe.method.upper()} {path} ({probe.route}, {probe.kind} "
                    f"{where}): {status}, expected {sorted(allowed) or rule} [{rule}]"
                )
    return asked, failures


def _listed(response) -> set[int]:
    if hasattr(response, "context") and response.context and "cl" in response.context:
        return {row.pk for row in response.context["cl"].result_list}
    data = response.json()
    rows = data["results"] if isinstance(data, dict) else data
    return {row["id"] for row in rows}


def _kinds(kinds: str | tuple[str, ...]) -> tuple[str, ...]:
    return (kinds,) if isinstance(kinds, str) else kinds


def list_routes() -> list[tuple[str, str]]:
    """(URL name, kind) of every list: the API's of the viewsets above, the admin's."""
    lists = [
        (route.name, kind)
        for route in _routes()
        if route.viewset in API_KINDS and route.name.endswith("-list") and "get" in route.methods
        for kind in _kinds(API_KINDS[route.viewset])
    ]
    lists += [
        (f"admin:{model._meta.app_label}_{model._meta.model_name}_changelist", kind)
        for model in admin.site._registry
        if (kind := ADMIN_KINDS.get(model._meta.label))
    ]
    return lists


def walk_lists(f: Furnished, role_key: str) -> tuple[int, list[str]]:
    """Each list shows the role's own objects and none of the others."""
    api, web = _clients(f, role_key)
    failures, checked = [], 0
    for name, kind in list_routes():
        path = reverse(name)
        surface = _surface(path)
        client = api if surface == "api" else web
        response = client.get(path, {"page_size": 500} if surface == "api" else {})
        expected = 200
        if surface == "admin" and not ROLES[role_key].staff:
            expected = 302  # the admin's sign-in
        elif surface == "admin" and kind in ADMIN_FOR_CHANGERS and not may_change(role_key):
            expected = 403
        if response.status_code != expected:
            failures.append(f"{role_key} {path}: {response.status_code}, expected {expected}")
        if response.status_code != 200:
            continue
        listed = _listed(response)
        for where in WHERE:
            obj = target(f, role_key, kind, where)
            if obj is None:
                continue
            checked += 1
            shown = visible(role_key, kind, where, surface) or (
                surface == "admin"
                and where == "ancestor"
                and kind in ADMIN_LISTS_ABOVE
                and bool(ROLES[role_key].assignment)
            )
            if (obj.pk in listed) != shown:
                failures.append(
                    f"{role_key} {path} ({kind} {where}): "
                    f"{'missing' if shown else 'listed out of scope'}"
                )
    return checked, failures


@pytest.mark.parametrize("role_key", list(ROLES))
def test_scoping_matrix(furnished, role_key):
    """One role: every URL against its own, sibling and ancestor objects, then every list."""
    asked, failures = walk(furnished, role_key, [*all_probes(), *QUERY_PROBES])
    checked = 0
    if ROLES[role_key].signed_in:
        checked, list_failures = walk_lists(furnished, role_key)
        failures += list_failures
    assert failures == [], "\n" + "\n".join(failures)
    # the walk really walked: every place of a grid role (a department has fewer kinds of
    # objects than a community), and every list
    places = ("own", "sibling", "ancestor") if ROLES[role_key].assignment else ("ancestor",)
    assert all(asked[where] > 40 for where in places), asked
    assert checked > 30 or not ROLES[role_key].signed_in, checked


def test_the_matrix_catches_a_leak(furnished, monkeypatch):
    """Households listed without their scope: the walk names every URL that leaks."""
    from residents import selectors
    from residents.models import Household

    monkeypatch.setattr(selectors, "household_list", lambda user: Household.objects.all())
    probes = [p for p in all_probes() if p.kind == "household"]
    _asked, failures = walk(furnished, "grid_worker", probes)
    assert any("household-detail" in f and "sibling" in f for f in failures), failures
    assert any("household-detail" in f and "ancestor" in f for f in failures), failures


# --- coverage ----------------------------------------------------------------------------------


def _admin_label(name: str) -> str | None:
    """``admin:residents_household_change`` → ``residents.Household``."""
    for model in admin.site._registry:
        info = f"admin:{model._meta.app_label}_{model._meta.model_name}_"
        if name.startswith(info):
            return model._meta.label
    return None


def uncovered() -> list[str]:
    probed = {p.route for p in [*all_probes(), *QUERY_PROBES]}
    missing = []
    for name, route in object_routes().items():
        if name in probed or name in NOT_PROBED or route.viewset in NOT_PROBED:
            continue
        label = _admin_label(name)
        if label and f"admin:{label}" in NOT_PROBED:
            continue
        if (
            name == route.pattern
            and route.pattern.startswith(ADMIN_REDIRECT)
            and (route.pattern.endswith("<path:object_id>/"))
        ):
            continue  # the admin's bare object URL: a redirect to its change page
        missing.append(f"{name}  ({route.pattern})")
    return missing


def test_every_url_is_covered():
    """A URL with an object in its path is probed above or excluded with a reason; a new
    one with neither fails here until it is given a row."""
    assert uncovered() == []


def test_the_exclusions_name_what_exists():
    routes = object_routes()
    viewsets = {route.viewset for route in routes.values()}
    labels = {f"admin:{model._meta.label}" for model in admin.site._registry}
    stale = [
        key for key in NOT_PROBED if key not in routes and key not in viewsets and key not in labels
    ]
    assert stale == []
    assert set(API_KINDS) <= viewsets
    assert {f"admin:{label}" for label in ADMIN_KINDS} <= labels


def test_the_private_link_opens_only_its_ticket(world, client, settings, tmp_path):
    """The reporter's private page is reached by its signed token alone (no login): a
    genuine token opens its own ticket and photos, nothing else opens anything."""
    settings.MEDIA_ROOT = tmp_path / "media"
    anonymous = make_category(name="随手拍", anonymous=True)
    mine = open_ticket(
        category=anonymous, grid=world.A1, reporter_phone="13800138000", photos=[_image()]
    )
    other = open_ticket(
        category=anonymous, grid=world.B1, reporter_phone="13800138001", photos=[_image()]
    )
    with_account = open_ticket(
        category=anonymous, grid=world.A1, reporter=UserFactory(username="m_reporter")
    )
    token = reporter_link_token(mine)

    assert client.get(reverse("tickets:follow", kwargs={"token": token})).status_code == 200
    own_photo = {"token": token, "pk": mine.photos.get().pk}
    assert client.get(reverse("tickets:follow_photo", kwargs=own_photo)).status_code == 200

    their_photo = {"token": token, "pk": other.photos.get().pk}
    assert client.get(reverse("tickets:follow_photo", kwargs=their_photo)).status_code == 404
    tampered = token[:-2] + ("AA" if not token.endswith("AA") else "BB")
    assert client.get(reverse("tickets:follow", kwargs={"token": tampered})).status_code == 404
    signed_in_reporter = reporter_link_token(with_account)  # they sign in to follow it
    assert (
        client.get(reverse("tickets:follow", kwargs={"token": signed_in_reporter})).status_code
        == 404
    )
