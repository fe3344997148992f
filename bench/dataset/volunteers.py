"""Volunteers, two years of their activities with sign-ups, confirmed hours and the points
they earned; and the door-to-door campaigns still open (敲门行动), each a task per
household of its community.

Points follow the ledger's rules: one entry per confirmed sign-up (``source`` = the
sign-up, reason ``activity``), posted when the hours were confirmed, ``balance_after``
the running balance of the account in posting order and the account's balance the last
of them.
"""

from __future__ import annotations

import datetime
import random
from collections import defaultdict

from django.contrib.contenttypes.models import ContentType

from bench.dataset.grids import Tree
from bench.dataset.people import People
from bench.dataset.residents import Residents
from bench.loader import Ids, Loader
from residents.models import Campaign, CampaignStatus, CampaignTask
from volunteers.models import (
    Activity,
    ActivityStatus,
    EntryReason,
    PointsAccount,
    PointsBasis,
    PointsEntry,
    Signup,
    SignupStatus,
    Volunteer,
)

ACTIVITY_TITLES = ("环境清洁", "食品安全宣传", "敬老助老", "政策宣讲", "文艺演出", "义诊")
POINTS_PER_ATTENDANCE = 5
HOURS = 3


def build(
    tree: Tree,
    people: People,
    residents: Residents,
    *,
    volunteers: int,
    activities: int,
    campaigns: int,
    ids: Ids,
    loader: Loader,
    rng: random.Random,
    now: datetime.datetime,
) -> None:
    community_of = {}
    for grid in tree.all():
        found = tree.community_of(grid)
        if found is not None and found.kind != "dedicated":
            community_of[grid.id] = found.id
    # volunteers: living residents, each with a points account
    chosen = rng.sample(
        residents.living_residents, k=min(volunteers, len(residents.living_residents))
    )
    first_volunteer = ids.take(Volunteer, len(chosen))
    first_account = ids.take(PointsAccount, len(chosen))
    by_community: dict[int, list[tuple[int, int]]] = defaultdict(list)  # → (volunteer, account)
    volunteer_rows, account_rows = [], []
    for i, (resident_id, grid_id) in enumerate(chosen):
        volunteer_id, account_id = first_volunteer + i, first_account + i
        volunteer_rows.append(
            (
                volunteer_id,
                grid_id,
                f"志愿者{i + 1}",
                resident_id,
                (now - datetime.timedelta(days=rng.randint(30, 900))).date(),
                now,
            )
        )
        account_rows.append((account_id, "resident", resident_id, now))
        by_community[community_of[grid_id]].append((volunteer_id, account_id))
    loader.load(
        Volunteer,
        ["id", "grid_id", "name", "resident_id", "registered_on", "created_at"],
        volunteer_rows,
    )
    # activities over two years on the communities, sign-ups for those already over
    communities = [c for c in tree.communities if by_community.get(c.id)]
    activity_rows, signup_rows, entries = [], [], []
    signup_type = ContentType.objects.get_for_model(Signup)
    for _ in range(activities if communities else 0):
        community = rng.choice(communities)
        organiser = people.staff_of[community.id]
        starts = now - datetime.timedelta(days=rng.uniform(-20, 720))
        starts = starts.replace(minute=0, second=0, microsecond=0)
        ends = starts + datetime.timedelta(hours=HOURS)
        cancelled = rng.random() < 0.05
        activity_id = ids.take(Activity)
        activity_rows.append(
            (
                activity_id,
                rng.choice(ACTIVITY_TITLES),
                community.id,
                starts,
                ends,
                starts,
                30,
                organiser,
                PointsBasis.ATTENDANCE,
                POINTS_PER_ATTENDANCE,
                f"{rng.randrange(10**6):06d}",
                ActivityStatus.CANCELLED if cancelled else ActivityStatus.OPEN,
                organiser,
                starts - datetime.timedelta(days=7),
                starts - datetime.timedelta(days=7),
            )
        )
        pool = by_community[community.id]
        for volunteer_id, account_id in rng.sample(pool, k=min(len(pool), rng.randint(4, 16))):
            signup_id = ids.take(Signup)
            signed = starts - datetime.timedelta(days=rng.uniform(0.5, 6))
            if cancelled or ends > now:
                signup_rows.append(
                    (
                        signup_id,
                        activity_id,
                        volunteer_id,
                        SignupStatus.SIGNED_UP,
                        signed,
                        None,
                        None,
                        None,
                        None,
                        organiser,
                    )
                )
                continue
            confirmed = ends + datetime.timedelta(hours=rng.uniform(1, 30))
            status = SignupStatus.CONFIRMED if rng.random() < 0.85 else SignupStatus.CHECKED_OUT
            signup_rows.append(
                (
                    signup_id,
                    activity_id,
                    volunteer_id,
                    status,
                    signed,
                    starts,
                    ends,
                    HOURS if status == SignupStatus.CONFIRMED else None,
                    confirmed if status == SignupStatus.CONFIRMED else None,
                    organiser,
                )
            )
            if status == SignupStatus.CONFIRMED:
                entries.append((confirmed, account_id, signup_id, community.id, organiser))
    loader.load(
        Activity,
        [
            "id",
            "title",
            "grid_id",
            "starts_at",
            "ends_at",
            "signup_closes_at",
            "capacity",
            "organiser_id",
            "points_basis",
            "attendance_points",
            "check_in_code",
            "status",
            "created_by_id",
            "created_at",
            "updated_at",
        ],
        activity_rows,
    )
    loader.load(
        Signup,
        [
            "id",
            "activity_id",
            "volunteer_id",
            "status",
            "signed_up_at",
            "checked_in_at",
            "checked_out_at",
            "hours",
            "confirmed_at",
            "confirmed_by_id",
        ],
        signup_rows,
    )
    entries.sort()
    balance: dict[int, int] = defaultdict(int)
    entry_rows = []
    first_entry = ids.take(PointsEntry, len(entries))
    for i, (posted, account_id, signup_id, grid_id, organiser) in enumerate(entries):
        balance[account_id] += POINTS_PER_ATTENDANCE
        entry_rows.append(
            (
                first_entry + i,
                account_id,
                POINTS_PER_ATTENDANCE,
                EntryReason.ACTIVITY,
                signup_type.pk,
                signup_id,
                grid_id,
                organiser,
                posted,
                balance[account_id],
            )
        )
    loader.load(
        PointsAccount,
        ["id", "kind", "resident_id", "created_at", "balance"],
        ((*row, balance[row[0]]) for row in account_rows),
    )
    loader.load(
        PointsEntry,
        [
            "id",
            "account_id",
            "amount",
            "reason",
            "source_type_id",
            "source_id",
            "grid_id",
            "posted_by_id",
            "posted_at",
            "balance_after",
        ],
        entry_rows,
    )
    _campaigns(tree, people, residents, campaigns, ids, loader, rng, now)


def _campaigns(tree, people, residents, count, ids, loader, rng, now) -> None:
    """Open door-to-door campaigns on some communities, partly done."""
    chosen = rng.sample(tree.communities, k=min(count, len(tree.communities)))
    campaign_rows, task_rows = [], []
    for community in chosen:
        campaign_id = ids.take(Campaign)
        started = now - datetime.timedelta(days=rng.uniform(1, 5))
        campaign_rows.append(
            (
                campaign_id,
                f"{community.name}敲门行动",
                community.id,
                [],
                now + datetime.timedelta(days=7),
                CampaignStatus.OPEN,
                people.staff_of[community.id],
                started,
            )
        )
        for grid in tree.all():
            if not community.contains(grid):
                continue
            for household_id in residents.households_by_grid.get(grid.id, ()):
                done = started + (now - started) * rng.random() if rng.random() < 0.4 else None
                task_rows.append((ids.take(CampaignTask), campaign_id, household_id, grid.id, done))
    loader.load(
        Campaign,
        [
            "id",
            "title",
            "grid_id",
            "checklist",
            "deadline",
            "status",
            "created_by_id",
            "created_at",
        ],
        campaign_rows,
    )
    loader.load(
        CampaignTask, ["id", "campaign_id", "household_id", "grid_id", "done_at"], task_rows
    )
