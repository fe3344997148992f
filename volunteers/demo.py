"""Demo volunteering for the seed places (``manage.py seed_demo`` calls ``seed_volunteers``).

Jigong (seed 001) gets its four teams (党员先锋、巾帼、文艺演出、应急救援), volunteers from its
residents and demo accounts, an activity per team (a clean-up already held, with confirmed
hours and the points they earned; a food-safety check, a women's talk and a performance to
come), county units paired with the community and in-service party members registered
with it (双报到双服务). Every demo community gets points rules (hours, claimed tickets by
difficulty, awards, party duties: seed 002's 积分制管理) and a points shop with items.

Idempotent: what exists is left as it is, so a second run creates nothing. Writes go
through the services, acting as the demo's superuser; the one exception is the past
clean-up's attendance, which the services (rightly) refuse to record after the fact, so it
is written directly and its points are posted through the ledger's own service.
"""

from __future__ import annotations

import datetime
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal

from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils import timezone

from grids import services as grid_services
from grids.models import Grid, PartyOrganization, PartyOrganizationKind
from residents.models import PartyMember, PartyMemberStatus, Relation, Resident
from volunteers import services
from volunteers.models import (
    Activity,
    DualRegistration,
    PointsBasis,
    PointsRule,
    RuleKind,
    Shop,
    ShopItem,
    Signup,
    SignupStatus,
    TeamKind,
    UnitPairing,
    Volunteer,
    VolunteerTeam,
)

Log = Callable[[str], None]

JIGONG = "540425100001"
JIGONG_TOWN = "540425100"
DEMO_COMMUNITIES = (
    "632726100001",  # 德勒社区 (seed 000)
    JIGONG,  # 吉公社区 (seed 001)
    "141029100001",  # 幸福湾社区 (seed 002)
    "650204001001",  # 跃进社区 (seed 003)
    "150621001001",  # 文苑社区 (seed 004)
)
TEAMS = (
    ("party_vanguard", "吉公社区党员先锋志愿服务队", "优秀党员、离退休干部、退役军人为骨干。"),
    ("womens", "吉公社区巾帼志愿服务队", "妇女联合宣讲，关爱一老一小。"),
    ("arts", "吉公社区文艺演出志愿服务队", "节日演出、民族歌舞、政策宣传。"),
    ("emergency_rescue", "吉公社区应急救援志愿服务队", "消防、防汛、地质灾害应急处置。"),
)
# (team code, title, place, days from today, hours, capacity, basis, attendance points)
ACTIVITIES = (
    ("party_vanguard", "环境卫生整治", "同庆小区", -7, 3, 20, PointsBasis.HOURS, 0),
    ("party_vanguard", "食品安全监督检查", "竹瓦根农贸市场", 3, 2, 10, PointsBasis.HOURS, 0),
    ("womens", "妇女联合宣讲", "社区党群服务中心", 5, 2, 30, PointsBasis.ATTENDANCE, 5),
    ("arts", "节日文艺演出", "社区文艺运动区", 10, 3, 25, PointsBasis.ATTENDANCE, 8),
    ("emergency_rescue", "地质灾害应急演练", "社区广场", 14, 4, 15, PointsBasis.HOURS, 0),
)
# (kind, code, name, points): seed 001 prices by service hours, difficulty and awards;
# seed 002's party-member points come from party duties.
RULES = (
    (RuleKind.VOLUNTEER_HOUR, "", "志愿服务每小时", 10),
    (RuleKind.TICKET_CLAIM, "easy", "党员接单（简单）", 5),
    (RuleKind.TICKET_CLAIM, "normal", "党员接单（一般）", 10),
    (RuleKind.TICKET_CLAIM, "hard", "党员接单（困难）", 20),
    (RuleKind.AWARD, "civilised_family", "文明家庭", 50),
    (RuleKind.AWARD, "excellent_volunteer", "优秀志愿者", 30),
    (RuleKind.PARTY_DUTY, "three_meetings", "参加三会一课", 5),
    (RuleKind.PARTY_DUTY, "theme_day", "参加主题党日", 3),
    (RuleKind.PARTY_DUTY, "vanguard_service", "党员先锋志愿服务", 10),
)
# (name, price, stock, limit per person)
ITEMS = (
    ("毛巾", 10, 100, None),
    ("洗衣液", 30, 50, 2),
    ("食用油 5L", 60, 20, 1),
    ("大米 10kg", 80, 20, 1),
)
# County units pairing with Jigong (seed 001: 12 departments dock with its grids); their
# party branches sit on the dedicated grids the demo already has.
UNITS = (
    (f"{JIGONG_TOWN}-ZS3", "察隅县人民医院党支部"),
    (f"{JIGONG_TOWN}-ZS2", "察隅县中学党支部"),
)
RESIDENT_VOLUNTEERS = 12
DUAL_REGISTRATIONS = 6
RULES_FROM = datetime.date(2026, 1, 1)


@dataclass
class Tally:
    teams: int = 0
    volunteers: int = 0
    activities: int = 0
    rules: int = 0
    items: int = 0
    registrations: int = 0

    @property
    def total(self) -> int:
        return (
            self.teams
            + self.volunteers
            + self.activities
            + self.rules
            + self.items
            + self.registrations
        )


def _silent(_message: str) -> None:
    """The log of a quiet run."""


def _admin():
    return get_user_model().objects.filter(is_superuser=True, is_active=True).order_by("pk").first()


def _rules(admin, community: Grid, tally: Tally) -> None:
    for kind, code, name, points in RULES:
        if PointsRule.objects.filter(grid=community, kind=kind, code=code).exists():
            continue
        services.rule_set(
            actor=admin,
            grid=community,
            kind=kind,
            code=code,
            name=name,
            points=points,
            effective_from=RULES_FROM,
        )
        tally.rules += 1


def _shop(admin, community: Grid, tally: Tally) -> None:
    name = f"{community.name}积分兑换超市"
    shop = Shop.objects.filter(grid=community, name=name).first() or services.shop_create(
        actor=admin, grid=community, name=name, place=f"{community.name}党群服务中心"
    )
    for item, price, stock, limit in ITEMS:
        if ShopItem.objects.filter(shop=shop, name=item).exists():
            continue
        services.item_create(
            actor=admin, shop=shop, name=item, price=price, stock=stock, per_person_limit=limit
        )
        tally.items += 1


def _volunteers(admin, community: Grid, tally: Tally) -> list[Volunteer]:
    """Demo accounts of the community and some of its residents (household heads)."""
    subtree = community.get_descendants(include_self=True)
    users = get_user_model().objects.filter(username__in=("jigong_unithead", "jigong_parttime"))
    found: list[Volunteer] = []
    for user in users.order_by("username"):
        volunteer = Volunteer.objects.filter(user=user).first()
        if volunteer is None:
            volunteer = services.volunteer_register(actor=admin, grid=community, user=user)
            tally.volunteers += 1
        found.append(volunteer)
    heads = (
        Resident.objects.filter(household__grid__in=subtree, relation=Relation.HEAD)
        .select_related("household__grid")
        .order_by("pk")[:RESIDENT_VOLUNTEERS]
    )
    for resident in heads:
        volunteer = Volunteer.objects.filter(resident=resident).first()
        if volunteer is None:
            volunteer = services.volunteer_register(
                actor=admin, grid=resident.household.grid, resident=resident
            )
            tally.volunteers += 1
        found.append(volunteer)
    return found


def _teams(admin, community: Grid, volunteers: list[Volunteer], tally: Tally) -> dict:
    kinds = {k.code: k for k in TeamKind.objects.all()}
    teams = {}
    for index, (code, name, description) in enumerate(TEAMS):
        team = VolunteerTeam.objects.filter(grid=community, name=name).first()
        if team is None:
            members = volunteers[index :: len(TEAMS)]
            team = services.team_create(
                actor=admin,
                grid=community,
                kind=kinds[code],
                name=name,
                description=description,
                leader=members[0] if members else None,
            )
            for volunteer in members[1:]:
                services.team_add_member(actor=admin, team=team, volunteer=volunteer)
            tally.teams += 1
        teams[code] = team
    return teams


def _past_attendance(admin, activity: Activity, team: VolunteerTeam) -> None:
    """The clean-up already held: everyone in the team came and their hours are confirmed."""
    members = list(team.members.filter(is_active=True).order_by("pk"))
    for volunteer in members[: activity.capacity or len(members)]:
        signup = Signup.objects.create(
            activity=activity,
            volunteer=volunteer,
            status=SignupStatus.CONFIRMED,
            signed_up_at=activity.starts_at - datetime.timedelta(days=2),
            signed_up_by=admin,
            checked_in_at=activity.starts_at,
            checked_in_by=admin,
            checked_out_at=activity.ends_at,
            checked_out_by=admin,
            hours=Decimal(int((activity.ends_at - activity.starts_at).total_seconds())) / 3600,
            confirmed_at=activity.ends_at,
            confirmed_by=admin,
        )
        services.points_post_for_signup(signup=signup, activity=activity, actor=admin)


def _activities(admin, community: Grid, teams: dict, tally: Tally) -> None:
    today = timezone.localdate()
    zone = timezone.get_current_timezone()
    for code, title, place, days, hours, capacity, basis, points in ACTIVITIES:
        team = teams[code]
        if Activity.objects.filter(grid=community, title=title).exists():
            continue
        day = today + datetime.timedelta(days=days)
        starts_at = datetime.datetime.combine(day, datetime.time(9, 30), tzinfo=zone)
        activity = services.activity_create(
            actor=admin,
            grid=community,
            title=title,
            place=place,
            starts_at=starts_at,
            ends_at=starts_at + datetime.timedelta(hours=hours),
            signup_closes_at=starts_at - datetime.timedelta(hours=12),
            capacity=capacity,
            team=team,
            points_basis=basis,
            attendance_points=points,
        )
        tally.activities += 1
        if days < 0:
            _past_attendance(admin, activity, team)


def _units(admin, community: Grid) -> list[PartyOrganization]:
    units = []
    for grid_code, name in UNITS:
        grid = Grid.objects.filter(code=grid_code).first()
        if grid is None:
            continue
        unit = PartyOrganization.objects.filter(grid=grid, name=name).first()
        if unit is None:
            unit = grid_services.party_organization_create(
                actor=admin, name=name, kind=PartyOrganizationKind.BRANCH, grid=grid, parent=None
            )
        if not UnitPairing.objects.filter(organization=unit, community=community).exists():
            services.pairing_create(
                actor=admin, organization=unit, community=community, starts_on=RULES_FROM
            )
        units.append(unit)
    return units


def _registrations(admin, community: Grid, units: list[PartyOrganization], tally: Tally) -> None:
    """In-service party members living in Jigong register with it, for the paired units."""
    if not units:
        return
    subtree = community.get_descendants(include_self=True)
    members = (
        PartyMember.objects.filter(
            status=PartyMemberStatus.IN_SERVICE,
            resident__household__grid__in=subtree,
            dual_registrations__isnull=True,
        )
        .select_related("resident__household__grid")
        .order_by("pk")
    )
    wanted = DUAL_REGISTRATIONS - DualRegistration.objects.filter(grid__in=subtree).count()
    for index, member in enumerate(members[: max(wanted, 0)]):
        services.registration_create(
            actor=admin,
            party_member=member,
            grid=member.resident.household.grid,
            organization=units[index % len(units)],
            registered_on=RULES_FROM,
        )
        tally.registrations += 1


def seed_volunteers(*, log: Log = _silent) -> Tally:
    """Create whatever of the demo's volunteering is missing; returns what was created."""
    tally = Tally()
    admin = _admin()
    if admin is None:
        log("  no superuser: run the grids demo first")
        return tally
    for code in DEMO_COMMUNITIES:
        community = Grid.objects.filter(code=code).first()
        if community is None:
            continue
        with transaction.atomic():
            _rules(admin, community, tally)
            _shop(admin, community, tally)
            if code == JIGONG:
                volunteers = _volunteers(admin, community, tally)
                teams = _teams(admin, community, volunteers, tally)
                _activities(admin, community, teams, tally)
                _registrations(admin, community, _units(admin, community), tally)
        log(
            f"  {community.name}: rules, points shop"
            + (", teams, activities" if code == JIGONG else "")
        )
    log(
        f"  created {tally.teams} teams, {tally.volunteers} volunteers, {tally.activities} "
        f"activities, {tally.rules} rules, {tally.items} shop items, "
        f"{tally.registrations} dual registrations"
    )
    return tally
