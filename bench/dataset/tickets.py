"""Two years of tickets with their timelines, whistles, ratings and escalations.

Each ticket's whole life is drawn at once, in the shape the services give it (the state
chart of ``tickets/README.md``): the ticket row as it stands at the reference moment and
the events that led there, with the same ``from_status``/``to_status`` the services
record. Four populations, by where a ticket stands at the reference moment ``now``:

- **finished** (most): closed after a rating (satisfied, basically satisfied, or
  unsatisfied first and reopened), closed unrated after the waiting time, rejected,
  marked duplicate; some were whistled to departments, some answered late and climbed
  the escalation ladder on the way;
- **in hand**: open, every deadline still ahead;
- **just overdue**: open, a deadline passed minutes ago, not yet escalated — the work
  of the next escalation sweep (``Scale.just_overdue``);
- **backlog**: open, overdue long ago, every rung of the ladder already climbed (the
  sweep must skip them cheaply).

Tickets are written in the order they were opened, so ids and numbers
(``YYYYMMDD-NNNN``, per local day) grow with time as in production, in chunks with their
events, whistles and escalations, and ``TicketSequence`` ends at each day's last number.
"""

from __future__ import annotations

import datetime
import random
from collections.abc import Callable
from dataclasses import dataclass, field

from django.utils import timezone

from bench.dataset.grids import Node, Tree
from bench.dataset.people import People
from bench.dataset.residents import Residents, phone
from bench.loader import Ids, Loader
from grids.models import GridKind, GridLevel
from tickets.demo import TITLES
from tickets.models import (
    Category,
    Channel,
    Escalation,
    EscalationDeadline,
    EscalationLevel,
    EventKind,
    Rating,
    Ticket,
    TicketEvent,
    TicketSequence,
    TicketStatus,
    Whistle,
    WhistleStatus,
)

S = TicketStatus
K = EventKind
HOUR = datetime.timedelta(hours=1)
MINUTE = datetime.timedelta(minutes=1)
DAY = datetime.timedelta(days=1)
HISTORY_DAYS = 730
AUTO_CLOSE = 7 * DAY
CHUNK = 20_000

CATEGORY_WEIGHTS = {
    "dispute": 15,
    "elderly_help": 8,
    "environment": 20,
    "epidemic": 2,
    "facility_repair": 25,
    "livelihood": 10,
    "proposal": 3,
    "safety_hazard": 12,
    "fire": 1,
}
CLAIM_CATEGORIES = ("elderly_help", "livelihood")
CHANNEL_WEIGHTS = {
    Channel.HOTLINE: 30,
    Channel.PATROL: 28,
    Channel.RESIDENT_WEB: 20,
    Channel.UNIT_HEAD: 8,
    Channel.INFORMANT: 6,
    Channel.API: 5,
    Channel.OPEN311: 3,
}
FATES = {
    "satisfied": 60,
    "basically": 11,
    "unsatisfied": 4,
    "unrated": 10,
    "rejected": 5,
    "duplicate": 2,
    "whistled": 8,
}
GENERIC_TITLES = ("群众反映问题", "网格巡查发现问题", "居民求助")
EVENT_FIELDS = [
    "id",
    "ticket_id",
    "actor_id",
    "kind",
    "from_status",
    "to_status",
    "data",
    "created_at",
    "notified_at",
]
TICKET_FIELDS = [
    "id",
    "number",
    "channel",
    "status",
    "grid_id",
    "category_id",
    "title",
    "lat",
    "lng",
    "household_id",
    "reporter_id",
    "reporter_phone",
    "created_by_id",
    "assignee_id",
    "respond_by",
    "resolve_by",
    "responded_at",
    "resolved_at",
    "closed_at",
    "duplicate_of_id",
    "reject_reason",
    "external_number",
    "rating",
    "rated_at",
    "created_at",
    "updated_at",
]
WHISTLE_FIELDS = [
    "id",
    "ticket_id",
    "department_id",
    "whistled_by_id",
    "status",
    "report_by",
    "reported_at",
    "reported_by_id",
    "reply",
    "replied_at",
    "replied_by_id",
    "created_at",
]
ESCALATION_FIELDS = [
    "id",
    "ticket_id",
    "deadline",
    "due_at",
    "level",
    "event_id",
    "next_at",
    "created_at",
]
LADDER = tuple(EscalationLevel.values)


@dataclass
class Plan:
    """One ticket to draw: its category, when it was opened and where it stands at
    ``now``. Planned for every ticket first, so tickets can be drawn in order of opening."""

    category: str
    created: datetime.datetime
    population: str  # finished / in_hand / just_overdue / backlog
    variant: str = ""


@dataclass
class Drawn:
    ticket: dict
    events: list[tuple] = field(default_factory=list)
    whistles: list[tuple] = field(default_factory=list)
    escalations: list[tuple] = field(default_factory=list)


def _weighted(rng: random.Random, weights: dict) -> Callable[[], object]:
    keys, values = list(weights), list(weights.values())
    return lambda: rng.choices(keys, values)[0]


class Tickets:
    """Draws tickets one by one; the caller writes them in chunks."""

    def __init__(self, tree: Tree, people: People, residents: Residents, ids: Ids, rng, now):
        self.tree, self.people, self.residents = tree, people, residents
        self.ids, self.rng, self.now = ids, rng, now
        self.categories = {c.code: c for c in Category.objects.filter(code__in=CATEGORY_WEIGHTS)}
        self.pick_category = _weighted(rng, {c: CATEGORY_WEIGHTS[c] for c in self.categories})
        self.pick_channel = _weighted(rng, CHANNEL_WEIGHTS)
        self.pick_fate = _weighted(rng, FATES)
        self.grids = (
            [(g, 85) for g in tree.micro]
            + [(g, 8) for g in tree.estates]
            + [(g, 4) for g in tree.communities]
            + [(g, 3) for g in tree.dedicated]
        )
        self._grid_nodes = [g for g, _w in self.grids]
        self._grid_weights = []
        total = 0
        for g, w in self.grids:
            total += w / (len(self._level_list(g)) or 1)
            self._grid_weights.append(total)
        self.dispatcher = {g.id: self._dispatcher(g) for g in tree.territorial}
        self.departments = list(tree.industry)
        self.sequence: dict[datetime.date, int] = {}
        self.previous_ids: list[int] = []

    def _level_list(self, grid: Node) -> list[Node]:
        if grid.kind == GridKind.DEDICATED:
            return self.tree.dedicated
        return {
            GridLevel.MICRO: self.tree.micro,
            GridLevel.ESTATE: self.tree.estates,
            GridLevel.COMMUNITY: self.tree.communities,
        }[grid.level]

    def _dispatcher(self, grid: Node) -> int:
        node = grid
        while node is not None:
            if node.id in self.people.staff_of:
                return self.people.staff_of[node.id]
            node = node.parent
        return self.people.admin

    def _rung_people(self, grid: Node) -> dict[str, list[int]]:
        """Who the ladder reaches, rung by rung (ids only: kept in the event data)."""
        chain = []
        node = grid
        while node is not None:
            chain.append(node)
            node = node.parent
        leaders = next(
            (self.people.leader_of[n.id] for n in chain if n.id in self.people.leader_of), None
        )
        community = next(
            (n for n in chain if n.level == GridLevel.COMMUNITY and n.kind != GridKind.DEDICATED),
            None,
        )
        township = next((n for n in chain if n.level == GridLevel.TOWNSHIP), None)
        return {
            EscalationLevel.GRID: [leaders] if leaders else [],
            EscalationLevel.COMMUNITY: [self.people.staff_of[community.id]] if community else [],
            EscalationLevel.TOWNSHIP: [
                self.people.staff_of[township.id],
                self.people.township_leader[township.id],
            ]
            if township
            else [],
            EscalationLevel.COUNTY: [
                self.people.county_leader,
                self.people.staff_of[self.tree.county.id],
            ],
        }

    # --- planning ------------------------------------------------------------------------

    def plans(self, total: int, open_total: int, just_overdue: int) -> list[Plan]:
        """Every ticket's category and opening moment, oldest first."""
        rng, now = self.rng, self.now
        in_hand = round((open_total - just_overdue) * 0.35)
        backlog = open_total - just_overdue - in_hand
        finished = total - open_total
        plans = []
        for _ in range(finished):
            age = HISTORY_DAYS * (1 - rng.random() ** 1.15)  # a little more lately
            created = now - datetime.timedelta(days=max(age, 0.5))
            plans.append(Plan(self.pick_category(), created, "finished"))
        for i in range(just_overdue):
            code = self.pick_category()
            category = self.categories[code]
            variant = "respond" if i % 2 == 0 else "resolve"
            window = category.respond_within if variant == "respond" else category.resolve_within
            created = now - window - rng.uniform(1, 30) * MINUTE
            plans.append(Plan(code, created, "just_overdue", variant))
        for _ in range(in_hand):
            code = self.pick_category()
            category = self.categories[code]
            created = now - rng.uniform(0.02, 0.9) * category.resolve_within
            variant = "responded" if now - created > category.respond_within * 0.9 else ""
            plans.append(Plan(code, created, "in_hand", variant))
        for _ in range(backlog):
            code = self.pick_category()
            window = self.categories[code].resolve_within
            created = now - 4.2 * window - rng.uniform(1, 90) * DAY
            plans.append(Plan(code, created, "backlog"))
        plans.sort(key=lambda p: p.created)
        return plans

    # --- one ticket ----------------------------------------------------------------------

    def pick_grid(self) -> Node:
        return self.rng.choices(self._grid_nodes, cum_weights=self._grid_weights)[0]

    def draw(self, plan: Plan) -> Drawn:
        category = self.categories[plan.category]
        grid = self.pick_grid()
        t = self._new_ticket(category, grid, self.pick_channel(), plan.created)
        drawn = Drawn(t)
        if plan.population == "finished":
            self._finished(drawn, category, grid)
        else:
            self._open(drawn, plan, category, grid)
        return drawn

    def _new_ticket(self, category: Category, grid: Node, channel: str, created) -> dict:
        rng = self.rng
        reporter = created_by = None
        reporter_phone = ""
        worker = self.people.worker_of[grid.id]
        if channel in (Channel.HOTLINE, Channel.OPEN311):
            reporter_phone = phone(rng)
            created_by = self.dispatcher[grid.id]
        elif channel in (Channel.PATROL, Channel.UNIT_HEAD):
            reporter = created_by = worker
        else:
            reporter = created_by = rng.choice(self.people.reporters)
        lat = lng = None
        if rng.random() < 0.4 and grid.rect is not None:
            r = grid.rect
            lat = round(rng.uniform(r.min_lat, r.max_lat), 6)
            lng = round(rng.uniform(r.min_lng, r.max_lng), 6)
        household = None
        if rng.random() < 0.1 and self.residents.households_by_grid.get(grid.id):
            household = rng.choice(self.residents.households_by_grid[grid.id])
        titles = TITLES.get(category.code, GENERIC_TITLES)
        return {
            "id": 0,
            "number": "",
            "channel": channel,
            "status": S.SUBMITTED,
            "grid_id": grid.id,
            "category_id": category.pk,
            "title": rng.choice(titles),
            "lat": lat,
            "lng": lng,
            "household_id": household,
            "reporter_id": reporter,
            "reporter_phone": reporter_phone,
            "created_by_id": created_by,
            "assignee_id": None,
            "respond_by": created + category.respond_within,
            "resolve_by": created + category.resolve_within,
            "responded_at": None,
            "resolved_at": None,
            "closed_at": None,
            "duplicate_of_id": None,
            "reject_reason": "",
            "external_number": "",
            "rating": "",
            "rated_at": None,
            "created_at": created,
            "updated_at": created,
        }

    def _event(self, d: Drawn, kind, to_status, at, actor=None, data=None) -> int:
        t = d.ticket
        event_id = self.ids.take(TicketEvent)
        d.events.append(
            (
                event_id,
                None,
                actor,
                kind,
                t["status"] if kind != K.OPENED else "",
                to_status,
                data or {},
                at,
                at + 2 * MINUTE if at + 2 * MINUTE < self.now else None,
            )
        )
        t["status"] = to_status
        t["updated_at"] = max(t["updated_at"], at)
        return event_id

    def _opened(self, d: Drawn) -> None:
        t = d.ticket
        data = {"channel": t["channel"], "located": t["lat"] is not None, "auto_dispatch": None}
        self._event(d, K.OPENED, S.SUBMITTED, t["created_at"], t["created_by_id"], data)

    def _take_on(
        self, d: Drawn, category: Category, grid: Node, at, *, late: bool
    ) -> datetime.datetime:
        """Dispatch (or publish and claim) and accept: returns when it was answered."""
        rng, t = self.rng, d.ticket
        worker = self.people.worker_of[grid.id]
        window = category.respond_within
        answer = at + (rng.uniform(1.05, 3.0) if late else rng.uniform(0.05, 0.9)) * window
        if category.code in CLAIM_CATEGORIES:
            self._event(d, K.PUBLISHED, S.CLAIMABLE, at, None, {"auto": True})
            t["assignee_id"] = worker
            self._event(d, K.CLAIMED, S.ACCEPTED, answer, worker)
        else:
            auto = category.auto_dispatch
            dispatched = at if auto else at + (answer - at) * rng.uniform(0.1, 0.5)
            t["assignee_id"] = worker
            actor = None if auto else self.dispatcher[grid.id]
            self._event(
                d, K.DISPATCHED, S.DISPATCHED, dispatched, actor, {"assignee": worker, "auto": auto}
            )
            self._event(d, K.ACCEPTED, S.ACCEPTED, answer, worker)
        t["responded_at"] = answer
        return answer

    def _escalate(self, d: Drawn, grid: Node, deadline: str, due, window, until) -> None:
        """Every rung of ``deadline``'s ladder that fell due before ``until``."""
        people = self._rung_people(grid)
        for index, level in enumerate(LADDER):
            level_due = due + window * index
            if level_due >= until:
                break
            next_at = due + window * (index + 1) if index + 1 < len(LADDER) else None
            data = {
                "deadline": deadline,
                "missed": due.isoformat(),
                "level": level,
                "level_number": index + 1,
                "level_due": level_due.isoformat(),
                "level_grid": None,
                "recipients": people[level],
                "vacant": not people[level],
            }
            status = d.ticket["status"]
            event_id = self._event(d, K.ESCALATED, status, level_due, None, data)
            d.escalations.append(
                (
                    self.ids.take(Escalation),
                    None,
                    deadline,
                    due,
                    level,
                    event_id,
                    next_at,
                    level_due,
                )
            )

    def _resolve_round(
        self, d: Drawn, category: Category, grid: Node, opened_at, *, whistle: bool
    ) -> datetime.datetime:
        """One round from (re)opening to resolution; returns when it was resolved."""
        rng, t = self.rng, d.ticket
        late_answer = rng.random() < 0.12
        respond_by, resolve_by = t["respond_by"], t["resolve_by"]
        answered = self._take_on(d, category, grid, opened_at, late=late_answer)
        worker = t["assignee_id"]
        start = answered + rng.uniform(0.05, 2.0) * HOUR
        self._event(d, K.STARTED, S.IN_PROGRESS, start, worker)
        if whistle:
            self._whistle(d, grid, start)
        late = rng.random() < 0.22
        window = category.resolve_within
        resolved = (
            opened_at + (rng.uniform(1.02, 2.2) if late else rng.uniform(0.15, 0.95)) * window
        )
        resolved = max(resolved, start + 10 * MINUTE)
        if answered > respond_by:
            self._escalate(
                d, grid, EscalationDeadline.RESPOND, respond_by, category.respond_within, answered
            )
        if resolved > resolve_by:
            self._escalate(d, grid, EscalationDeadline.RESOLVE, resolve_by, window, resolved)
        self._event(d, K.RESOLVED, S.RESOLVED, resolved, worker)
        t["resolved_at"] = resolved
        return resolved

    def _whistle(self, d: Drawn, grid: Node, at) -> None:
        """Departments called in to help the assignee (网格吹哨), each reporting in."""
        rng, t = self.rng, d.ticket
        chosen = rng.sample(self.departments, k=min(len(self.departments), rng.choice((1, 1, 2))))
        category_report = 2 * HOUR
        whistle_ids = []
        for department in chosen:
            whistle_id = self.ids.take(Whistle)
            whistle_ids.append(whistle_id)
            reported = at + rng.uniform(0.1, 3.0) * HOUR
            replied = reported + rng.uniform(0.5, 10) * HOUR
            liaison = self.people.liaison_of[department.id]
            d.whistles.append(
                (
                    whistle_id,
                    None,
                    department.id,
                    t["assignee_id"],
                    WhistleStatus.REPLIED,
                    at + category_report,
                    reported,
                    liaison,
                    "已处理",
                    replied,
                    liaison,
                    at,
                )
            )
        self._event(
            d,
            K.WHISTLED,
            t["status"],
            at,
            t["assignee_id"],
            {"departments": [x.id for x in chosen], "whistles": whistle_ids, "auto": False},
        )
        for whistle_id, department in zip(whistle_ids, chosen, strict=True):
            row = next(w for w in d.whistles if w[0] == whistle_id)
            self._event(
                d,
                K.REPORTED_IN,
                t["status"],
                row[6],
                row[7],
                {"whistle": whistle_id, "department": department.id, "late": row[6] > row[5]},
            )

    def _rate(self, d: Drawn, rating: str, at) -> None:
        t = d.ticket
        actor = t["reporter_id"] or self.dispatcher[t["grid_id"]]
        data = {"rating": rating, "on_behalf": t["reporter_id"] is None}
        if rating == Rating.UNSATISFIED:
            self._event(d, K.RATED, S.REOPENED, at, actor, data)
            return
        self._event(d, K.RATED, S.CLOSED, at, actor, data)
        t["rating"], t["rated_at"], t["closed_at"] = rating, at, at

    def _finished(self, d: Drawn, category: Category, grid: Node) -> None:
        rng, t = self.rng, d.ticket
        fate = self.pick_fate()
        self._opened(d)
        created = t["created_at"]
        if fate == "rejected":
            at = created + rng.uniform(1, 8) * HOUR
            t["reject_reason"] = "不属于受理范围"
            self._event(d, K.REJECTED, S.REJECTED, at, self.dispatcher[grid.id], {})
            t["closed_at"] = at
        elif fate == "duplicate" and self.previous_ids:
            at = created + rng.uniform(0.5, 6) * HOUR
            original = rng.choice(self.previous_ids[-500:])
            t["duplicate_of_id"] = original
            self._event(
                d,
                K.MARKED_DUPLICATE,
                S.DUPLICATE,
                at,
                self.dispatcher[grid.id],
                {"original": original},
            )
            t["closed_at"] = at
        else:
            resolved = self._resolve_round(d, category, grid, created, whistle=fate == "whistled")
            if fate == "unsatisfied":
                rated = resolved + rng.uniform(2, 48) * HOUR
                self._rate(d, Rating.UNSATISFIED, rated)
                t["respond_by"], t["resolve_by"] = (
                    rated + category.respond_within,
                    rated + category.resolve_within,
                )
                t["responded_at"] = t["resolved_at"] = None
                t["assignee_id"] = None
                resolved = self._resolve_round(d, category, grid, rated, whistle=False)
                fate = "satisfied"
            if fate == "unrated":
                at = resolved + AUTO_CLOSE + rng.uniform(0, 30) * MINUTE
                self._event(d, K.CLOSED, S.CLOSED, at, None, {"auto": True})
                t["closed_at"] = at
            else:
                rating = Rating.BASICALLY_SATISFIED if fate == "basically" else Rating.SATISFIED
                self._rate(d, rating, resolved + rng.uniform(0.5, 100) * HOUR)
        last = max(e[7] for e in d.events)
        if last > self.now - 10 * MINUTE:
            self._shift(d, self.now - 10 * MINUTE - last - rng.uniform(0, 3) * DAY)

    def _shift(self, d: Drawn, delta: datetime.timedelta) -> None:
        """Move a whole history back in time (a ticket drawn too close to ``now``)."""
        t = d.ticket
        for key in (
            "respond_by",
            "resolve_by",
            "responded_at",
            "resolved_at",
            "closed_at",
            "rated_at",
            "created_at",
            "updated_at",
        ):
            if t[key] is not None:
                t[key] += delta
        d.events = [(*e[:7], e[7] + delta, e[8] + delta if e[8] else None) for e in d.events]
        d.whistles = [
            (*w[:5], w[5] + delta, w[6] + delta, w[7], w[8], w[9] + delta, w[10], w[11] + delta)
            for w in d.whistles
        ]
        d.escalations = [
            (*x[:3], x[3] + delta, x[4], x[5], x[6] + delta if x[6] else None, x[7] + delta)
            for x in d.escalations
        ]

    def _open(self, d: Drawn, plan: Plan, category: Category, grid: Node) -> None:
        """A ticket still being handled at ``now``."""
        rng, t, now = self.rng, d.ticket, self.now
        self._opened(d)
        created = t["created_at"]
        responded = plan.population == "backlog" or plan.variant in ("resolve", "responded")
        if not responded:
            # nobody has answered yet: waiting, given to someone, on the board or whistled
            roll = rng.random()
            if category.code in CLAIM_CATEGORIES:
                self._event(d, K.PUBLISHED, S.CLAIMABLE, created, None, {"auto": True})
            elif roll < 0.3:
                pass  # waiting for a dispatcher
            elif roll < 0.9 or plan.population == "just_overdue":
                worker = self.people.worker_of[grid.id]
                t["assignee_id"] = worker
                self._event(
                    d,
                    K.DISPATCHED,
                    S.DISPATCHED,
                    created + rng.uniform(0, 0.2) * (now - created),
                    None,
                    {"assignee": worker, "auto": True},
                )
            else:
                at = created + rng.uniform(0, 0.2) * (now - created)
                department = rng.choice(self.departments)
                whistle_id = self.ids.take(Whistle)
                report_by = max(at, now - HOUR) + 2 * HOUR
                d.whistles.append(
                    (
                        whistle_id,
                        None,
                        department.id,
                        None,
                        WhistleStatus.PENDING,
                        report_by,
                        None,
                        None,
                        "",
                        None,
                        None,
                        at,
                    )
                )
                self._event(
                    d,
                    K.WHISTLED,
                    S.WHISTLED,
                    at,
                    self.dispatcher[grid.id],
                    {"departments": [department.id], "whistles": [whistle_id], "auto": False},
                )
            return
        answered = self._take_on(d, category, grid, created, late=False)
        if answered >= now:
            answered = created + (now - created) * 0.5
            t["responded_at"] = answered
            d.events[-1] = (*d.events[-1][:7], answered, None)
        if rng.random() < 0.7:
            start = answered + (now - answered) * rng.uniform(0.05, 0.5)
            self._event(d, K.STARTED, S.IN_PROGRESS, start, t["assignee_id"])
        if plan.population == "backlog":
            self._escalate(
                d, grid, EscalationDeadline.RESOLVE, t["resolve_by"], category.resolve_within, now
            )

    # --- numbering --------------------------------------------------------------------------

    def number(self, d: Drawn) -> None:
        t = d.ticket
        t["id"] = ticket_id = self.ids.take(Ticket)
        day = timezone.localdate(t["created_at"])
        seq = self.sequence.get(day, 0) + 1
        self.sequence[day] = seq
        t["number"] = f"{day:%Y%m%d}-{seq:04d}"
        if t["channel"] == Channel.HOTLINE:
            t["external_number"] = f"12345-{ticket_id}"
        d.events = [(e[0], ticket_id, *e[2:]) for e in d.events]
        d.whistles = [(w[0], ticket_id, *w[2:]) for w in d.whistles]
        d.escalations = [(x[0], ticket_id, *x[2:]) for x in d.escalations]
        self.previous_ids.append(ticket_id)
        if len(self.previous_ids) > 2000:
            del self.previous_ids[:1000]


def build(
    tree: Tree,
    people: People,
    residents: Residents,
    *,
    total: int,
    open_total: int,
    just_overdue: int,
    ids: Ids,
    loader: Loader,
    rng: random.Random,
    now: datetime.datetime,
    log,
) -> dict[str, int]:
    drawer = Tickets(tree, people, residents, ids, rng, now)
    plans = drawer.plans(total, open_total, just_overdue)
    counts = {"tickets": 0, "events": 0, "whistles": 0, "escalations": 0}
    for start in range(0, len(plans), CHUNK):
        chunk = [drawer.draw(plan) for plan in plans[start : start + CHUNK]]
        for d in chunk:
            drawer.number(d)
        _write(chunk, loader)
        counts["tickets"] += len(chunk)
        counts["events"] += sum(len(d.events) for d in chunk)
        counts["whistles"] += sum(len(d.whistles) for d in chunk)
        counts["escalations"] += sum(len(d.escalations) for d in chunk)
        if (start // CHUNK) % 10 == 9 or start + CHUNK >= len(plans):
            log(f"  tickets: {counts['tickets']:,} of {len(plans):,}, {counts['events']:,} events")
    loader.load(TicketSequence, ["day", "last"], sorted(drawer.sequence.items()))
    for model, key in (
        (Ticket, "tickets"),
        (TicketEvent, "events"),
        (Whistle, "whistles"),
        (Escalation, "escalations"),
    ):
        loader.counts[model._meta.label] = counts[key]
    return counts


def _write(chunk: list[Drawn], loader: Loader) -> None:
    quiet = loader.log
    loader.log = lambda _message: None
    try:
        loader.load(Ticket, TICKET_FIELDS, ([d.ticket[f] for f in TICKET_FIELDS] for d in chunk))
        loader.load(TicketEvent, EVENT_FIELDS, (e for d in chunk for e in d.events))
        loader.load(Whistle, WHISTLE_FIELDS, (w for d in chunk for w in d.whistles))
        loader.load(Escalation, ESCALATION_FIELDS, (x for d in chunk for x in d.escalations))
    finally:
        loader.log = quiet
