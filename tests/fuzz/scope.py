"""The scoping oracle: which records each persona may see, written from the grid layout of
``tests/fuzz/world.py`` (grid ids by name), not computed by ``grids.scoping``, and the
check that every answer the fuzzer gets stays inside it.

Each resource of ``/api/v1/`` names the model it serves, the paths from a row to the
grids that place it, and its rule:

* ``subtree``: visible when one of its grids lies in the persona's subtrees (README:
  "every role sees its grid's subtree");
* ``reach``: also when the grid lies *above* the persona's subtrees — volunteering
  (teams, activities, rules, shops) is organised at the township and county too and is
  read there (volunteers/selectors/reach.py), and a campaign run over a whole community or
  county covers the grids it contains (residents/selectors.py, ``campaign_list``);
* ``own``: rows addressed to the persona (notifications);

and a resource may name rows visible whatever their grid (``also``): the tickets an
integrator entered (an Open311 request placed on a neighbour's grid, say).

Resources not listed (categories, key-group tags, team kinds) are the same for everyone.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from django.contrib.auth import get_user_model
from django.db.models import Model, Q

from grids.models import Grid, GridAssignment, PartyOrganization
from residents.models import (
    Campaign,
    CampaignTask,
    Household,
    KeyGroupTag,
    PartyMember,
    Resident,
    Visit,
)
from tickets.models import AgendaItem, Category, DutyShift, Meeting, Ticket, TicketPhoto, Whistle
from tickets.models.notifications import Notification
from volunteers.models import (
    Activity,
    DualRegistration,
    PointsAccount,
    PointsAward,
    PointsEntry,
    PointsRule,
    Redemption,
    Shop,
    ShopItem,
    Signup,
    TeamKind,
    UnitPairing,
    Volunteer,
    VolunteerTeam,
)

_ACCOUNT_GRIDS = (
    "resident__household__grid",
    "household__grid",
    "party_member__resident__household__grid",
    "party_member__organization__grid",
    "party_member__dual_registrations__grid",
)


def _entered_or_reported(user) -> Q:
    """tickets/README.md: "reporters and whoever entered a ticket (an integrator) see it"."""
    return Q(created_by=user) | Q(reporter=user)


@dataclass(frozen=True)
class Resource:
    model: type[Model]
    grids: tuple[str, ...]  # paths from a row to the grids that place it ("" = the row)
    rule: str = "subtree"  # "subtree", "reach" or "own"
    also: object = None  # user → Q: rows visible whatever their grid


RESOURCES: dict[str, Resource] = {
    "grids": Resource(Grid, ("",)),
    "assignments": Resource(GridAssignment, ("grid",)),
    "party-organizations": Resource(PartyOrganization, ("grid",)),
    "households": Resource(Household, ("grid",)),
    "residents": Resource(Resident, ("household__grid",)),
    "visits": Resource(Visit, ("household__grid",)),
    "campaigns": Resource(Campaign, ("grid",), "reach"),
    "campaign-tasks": Resource(CampaignTask, ("grid",)),
    "tickets": Resource(Ticket, ("grid",), also=_entered_or_reported),
    "claim-board": Resource(Ticket, ("grid",)),
    "whistles": Resource(Whistle, ("ticket__grid", "department")),
    "meetings": Resource(Meeting, ("grid",)),
    "agenda-items": Resource(AgendaItem, ("meeting__grid",)),
    "duty-shifts": Resource(DutyShift, ("grid",)),
    "notifications": Resource(Notification, (), "own"),
    "volunteers": Resource(Volunteer, ("grid",)),
    "volunteer-teams": Resource(VolunteerTeam, ("grid",), "reach"),
    "volunteer-activities": Resource(Activity, ("grid",), "reach"),
    "volunteer-signups": Resource(Signup, ("activity__grid",)),
    "points-accounts": Resource(PointsAccount, _ACCOUNT_GRIDS),
    "points-entries": Resource(PointsEntry, tuple(f"account__{p}" for p in _ACCOUNT_GRIDS)),
    "points-awards": Resource(PointsAward, tuple(f"account__{p}" for p in _ACCOUNT_GRIDS)),
    "points-rules": Resource(PointsRule, ("grid",), "reach"),
    "points-shops": Resource(Shop, ("grid",), "reach"),
    "points-shop-items": Resource(ShopItem, ("shop__grid",), "reach"),
    "points-redemptions": Resource(Redemption, ("item__shop__grid",)),
    "unit-pairings": Resource(UnitPairing, ("community", "organization__grid")),
    "dual-registrations": Resource(DualRegistration, ("grid", "organization__grid")),
    "party-member-service-records": Resource(
        PartyMember,
        (
            "organization__grid",
            "resident__household__grid",
            "dual_registrations__grid",
        ),
    ),
}

# Ids the fuzzer may use in requests that name no scoped resource.
OTHER_IDS: dict[str, type[Model]] = {
    "users": get_user_model(),
    "ticket-categories": Category,
    "ticket-photos": TicketPhoto,
    "key-group-tags": KeyGroupTag,
    "volunteer-team-kinds": TeamKind,
}

# GET sub-resources answering rows of another resource: (resource, action) → resource.
NESTED = {
    ("grids", "children"): "grids",
    ("grids", "subtree"): "grids",
    ("grids", "ancestors"): "grids",
    ("households", "residents"): "residents",
    ("points-accounts", "entries"): "points-entries",
    ("volunteer-activities", "attendance"): "volunteer-signups",
    ("households", "duties"): "households",
}


def _parts(path: str) -> tuple[str, str | None, str] | None:
    """``/api/v1/<resource>/[<id>/][<action>/…]`` → (resource, id, action)."""
    parts = path.strip("/").split("/")
    if len(parts) < 3 or parts[:2] != ["api", "v1"]:
        return None
    return parts[2], (parts[3] if len(parts) > 3 else None), "/".join(parts[4:])


class Oracle:
    """Every id of every resource, and those each persona may see (computed once, from
    the data as built, before any request)."""

    def __init__(self, grid_ids: dict[str, set[int]], above: dict[str, set[int]], users):
        self.every: dict[str, list[int]] = {}
        self.visible: dict[tuple[str, str], set[int]] = {}
        self.grids_visible = grid_ids
        for name, resource in RESOURCES.items():
            rows = resource.model.objects.order_by("pk")
            self.every[name] = list(rows.values_list("pk", flat=True))
            for persona, grids in grid_ids.items():
                self.visible[persona, name] = self._visible(
                    resource, grids, grids | above[persona], users[persona]
                )
        for name, model in OTHER_IDS.items():
            self.every[name] = list(model.objects.order_by("pk").values_list("pk", flat=True))

    @staticmethod
    def _visible(resource: Resource, grids: set[int], reach: set[int], user) -> set[int]:
        if resource.rule == "own":
            return set(resource.model.objects.filter(recipient=user).values_list("pk", flat=True))
        allowed = reach if resource.rule == "reach" else grids
        condition = Q(pk__in=[])
        for path in resource.grids:
            condition |= Q(**{f"{path}__pk__in" if path else "pk__in": allowed})
        if resource.also is not None:
            condition |= resource.also(user)
        rows = resource.model.objects.filter(condition)
        return set(rows.values_list("pk", flat=True).distinct())


def _rows(body: Any) -> list[dict]:
    if isinstance(body, dict) and isinstance(body.get("results"), list):
        return [row for row in body["results"] if isinstance(row, dict)]
    if isinstance(body, list):
        return [row for row in body if isinstance(row, dict)]
    if isinstance(body, dict) and "id" in body:
        return [body]
    return []


def _json(response) -> Any:
    try:
        return json.loads(response.content or b"null")
    except (ValueError, UnicodeDecodeError):
        return None


def _as_id(raw: str | None) -> int | None:
    return int(raw) if raw is not None and raw.isdigit() else None


def scoping_violations(oracle: Oracle, persona: str, method: str, path: str, response) -> list:
    """What the answer shows or changes outside the persona's scope (empty when nothing).

    * an object named in the path and answered with a 2xx must be visible to the persona
      (acting on, or reading, a record outside one's scope must be a 404);
    * every row a GET answers (a list, a detail, a nested list) must be visible;
    * in the other answers to a GET (progress, figures, timelines), every ``grid`` named
      must be one of the persona's grids.
    """
    if method == "OPTIONS" or not 200 <= response.status_code < 300:
        return []  # OPTIONS describes the endpoint (DRF's metadata), not a record
    parts = _parts(path)
    if parts is None:
        return []
    name, raw_id, action = parts
    problems = []
    record = _as_id(raw_id)
    if name in RESOURCES and record is not None and record not in oracle.visible[persona, name]:
        problems.append(
            f"{method} {path} answered {response.status_code} for {name} {record}, "
            "outside the persona's scope"
        )
    if method != "GET":
        return problems
    body = _json(response)
    answered = name if not action else NESTED.get((name, action))
    if answered in RESOURCES:
        visible = oracle.visible[persona, answered]
        leaked = sorted({row.get("id") for row in _rows(body)} - visible - {None})
        if leaked:
            problems.append(f"GET {path} shows {answered} {leaked}, outside the persona's scope")
    elif answered is None:
        problems.extend(_grids_named(oracle, persona, path, body))
    return problems


def _grids_named(oracle: Oracle, persona: str, path: str, body: Any) -> list[str]:
    allowed = oracle.grids_visible[persona]
    named: set[int] = set()

    def walk(value: Any) -> None:
        if isinstance(value, dict):
            for key, item in value.items():
                if key == "grid" and isinstance(item, int):
                    named.add(item)
                elif key == "grid" and isinstance(item, dict) and isinstance(item.get("id"), int):
                    named.add(item["id"])
                walk(item)
        elif isinstance(value, list):
            for item in value:
                walk(item)

    walk(body)
    outside = sorted(named - allowed)
    return [f"GET {path} names grids {outside}, outside the persona's scope"] if outside else []


# --- Open311: what is public ----------------------------------------------------------------------


def private_strings() -> set[str]:
    """What the data holds about people (reporters' and residents' names and phones, the
    details an Open311 citizen gave): none of it may appear in a public Open311 answer
    (open311/README.md, "What is public")."""
    from open311.models import Open311Request

    found: set[str] = set()
    for name, phone in Ticket.objects.values_list("reporter_name", "reporter_phone"):
        found.update((name, phone))
    for name, phone in Resident.objects.values_list("name", "phone"):
        found.update((name, phone))
    found.update(Household.objects.values_list("phone", flat=True))
    for row in Open311Request.objects.values_list("email", "device_id", "account_id"):
        found.update(row)
    found.update(get_user_model().objects.values_list("full_name", flat=True))
    return {value for value in found if value and len(value) >= 3}


def private_leaks(secrets: set[str], response) -> list[str]:
    text = response.content.decode("utf-8", "replace")
    return sorted(secret for secret in secrets if secret in text)
