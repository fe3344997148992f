"""The points ledger: accounts, posting, reversal, rules and awards, and the points a
claimed ticket earns.

Posting is the one way a balance moves. ``post_entry`` takes the account's row lock
(``SELECT … FOR UPDATE``), refuses a balance that would go below zero, appends the entry
and moves the cached balance in the caller's transaction, so concurrent posts to one
account queue behind each other and the balance always equals the sum of the entries.
Paths that lock an account and something else (the shop) lock the account first.
"""

from __future__ import annotations

import datetime
from decimal import ROUND_HALF_UP, Decimal

from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import ValidationError
from django.db import IntegrityError, models, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from governance.errors import Conflict
from grids.models import Grid
from residents.models import Household, PartyMember, Resident
from tickets.models import Category, EventKind, Rating, Ticket, TicketStatus
from volunteers import permissions, selectors
from volunteers.models import (
    AccountKind,
    Activity,
    CategoryDifficulty,
    Difficulty,
    EntryReason,
    PointsAccount,
    PointsAward,
    PointsBasis,
    PointsEntry,
    PointsRule,
    RuleKind,
    Signup,
    Volunteer,
)
from volunteers.services.common import require, required_text, territorial_grid

NOTE_LENGTH = 200


# --- accounts -----------------------------------------------------------------------------


def account_for(
    *,
    resident: Resident | None = None,
    party_member: PartyMember | None = None,
    household: Household | None = None,
) -> PointsAccount:
    """The account of exactly one owner, opened on first use (the ``UNIQUE`` owner columns
    make two openings at once end with one account)."""
    owners = [
        (AccountKind.RESIDENT, "resident", resident),
        (AccountKind.PARTY_MEMBER, "party_member", party_member),
        (AccountKind.HOUSEHOLD, "household", household),
    ]
    given = [(kind, field, owner) for kind, field, owner in owners if owner is not None]
    if len(given) != 1:
        raise ValueError("an account has exactly one owner")
    kind, field, owner = given[0]
    account, _created = PointsAccount.objects.get_or_create(
        **{field: owner}, defaults={"kind": kind}
    )
    return account


def account_for_volunteer(volunteer: Volunteer) -> PointsAccount | None:
    """Where a volunteer's points go: their party membership's account (积分制管理, seed
    002) when they are a party member, else their resident's. A volunteer who is only an
    account (staff, say) has no points account: hours count, points do not."""
    member = selectors.party_member_of(user=volunteer.user, resident_id=volunteer.resident_id)
    if member is not None:
        return account_for(party_member=member)
    if volunteer.resident_id is not None:
        return account_for(resident=volunteer.resident)
    return None


def account_for_user(user) -> PointsAccount | None:
    """Where points earned by a signed-in person go (a ticket they claimed)."""
    if user is None:
        return None
    volunteer = Volunteer.objects.filter(user=user).select_related("resident").first()
    if volunteer is not None:
        return account_for_volunteer(volunteer)
    member = selectors.party_member_of(user=user)
    return account_for(party_member=member) if member is not None else None


def lock_account(pk: int) -> PointsAccount:
    return PointsAccount.objects.select_for_update().get(pk=pk)


# --- posting --------------------------------------------------------------------------------


def _already_posted(source: models.Model, reason: str) -> PointsEntry | None:
    source_type = ContentType.objects.get_for_model(source)
    return PointsEntry.objects.filter(
        source_type=source_type, source_id=source.pk, reason=reason
    ).first()


def post_entry(
    *,
    account: PointsAccount,
    amount: int,
    reason: str,
    source: models.Model,
    grid: Grid,
    rule: PointsRule | None = None,
    posted_by=None,
    note: str = "",
    reverses: PointsEntry | None = None,
) -> PointsEntry:
    """Append one entry and move the balance. The caller holds a transaction; this takes
    the account's row lock. ``Conflict`` when the balance would go below zero
    (``insufficient_points``) or the source already has an entry for this reason
    (``already_posted``: the ``UNIQUE`` constraint settles a race)."""
    if amount == 0:
        raise ValueError("a ledger entry moves points")
    locked = lock_account(account.pk)
    balance = locked.balance + amount
    if balance < 0:
        raise Conflict(
            _("Not enough points: the balance is %(balance)d, %(needed)d are needed.")
            % {"balance": locked.balance, "needed": -amount},
            code="insufficient_points",
        )
    if _already_posted(source, reason) is not None:
        raise Conflict(_("These points have already been posted."), code="already_posted")
    try:
        with transaction.atomic():
            entry = PointsEntry.objects.create(
                account=locked,
                amount=amount,
                reason=reason,
                rule=rule,
                source_type=ContentType.objects.get_for_model(source),
                source_id=source.pk,
                grid=grid,
                reverses=reverses,
                note=(note or "").strip()[:NOTE_LENGTH],
                posted_by=posted_by
                if posted_by is not None and posted_by.is_authenticated
                else None,
                posted_at=timezone.now(),
                balance_after=balance,
            )
    except IntegrityError as exc:
        if _already_posted(source, reason) is not None:
            raise Conflict(
                _("These points have already been posted."), code="already_posted"
            ) from exc
        raise
    PointsAccount.objects.filter(pk=locked.pk).update(balance=balance)
    account.balance = balance
    return entry


def reverse_entry(entry: PointsEntry, *, posted_by, note: str) -> PointsEntry:
    """The entry's mirror image: the one correction the ledger knows. At most one per
    entry; a reversal that would leave the balance negative (points already spent) is
    refused with ``insufficient_points``."""
    if entry.reason == EntryReason.REVERSAL:
        raise Conflict(_("A reversal cannot itself be reversed."), code="is_reversal")
    if PointsEntry.objects.filter(reverses=entry).exists():
        raise Conflict(_("This entry has already been reversed."), code="already_reversed")
    return post_entry(
        account=entry.account,
        amount=-entry.amount,
        reason=EntryReason.REVERSAL,
        source=entry,
        grid=entry.grid,
        rule=entry.rule,
        posted_by=posted_by,
        note=note,
        reverses=entry,
    )


@transaction.atomic
def points_entry_reverse(*, actor, entry: PointsEntry, note: str) -> PointsEntry:
    """Staff correct a posting (wrong person, hours entered twice). Spending in the shop
    is corrected by cancelling the redemption, which also returns the stock."""
    entry = PointsEntry.objects.select_related("grid", "account").get(pk=entry.pk)
    require(permissions.can_manage(actor, entry.grid), _("You may not correct points posted here."))
    note = required_text(note, field="note", max_length=NOTE_LENGTH)
    if entry.reason == EntryReason.REDEMPTION:
        raise Conflict(
            _("Cancel the redemption instead: that also returns the item to stock."),
            code="is_redemption",
        )
    return reverse_entry(entry, posted_by=actor, note=note)


# --- rules ----------------------------------------------------------------------------------


def _check_rule_code(kind: str, code: str) -> str:
    code = (code or "").strip()
    if kind == RuleKind.VOLUNTEER_HOUR:
        if code:
            raise ValidationError(
                {"code": _("Volunteer hours have one rule: leave the code empty.")}
            )
    elif kind == RuleKind.TICKET_CLAIM:
        if code not in Difficulty.values:
            raise ValidationError({"code": _("Choose a difficulty: easy, normal or hard.")})
    elif kind in (RuleKind.AWARD, RuleKind.PARTY_DUTY):
        if not code:
            raise ValidationError({"code": _("Give the award or duty a short code.")})
    else:
        raise ValidationError({"kind": _("Choose a kind of rule.")})
    return code


@transaction.atomic
def rule_set(
    *,
    actor,
    grid: Grid,
    kind: str,
    name: str,
    points: int,
    code: str = "",
    effective_from: datetime.date | None = None,
    note: str = "",
) -> PointsRule:
    """A rule, or a new version of one: it prices service from ``effective_from`` on.

    Earlier versions are never edited, so points already posted keep the price they were
    posted at. A change may not start before today; a rule new to this grid may (nothing
    was priced by it yet).
    """
    grid = territorial_grid(grid)
    require(permissions.can_manage(actor, grid), _("You may not set points rules here."))
    code = _check_rule_code(kind, code)
    today = timezone.localdate()
    effective_from = effective_from or today
    versions = PointsRule.objects.filter(grid=grid, kind=kind, code=code)
    if effective_from < today and versions.exists():
        raise ValidationError(
            {"effective_from": _("A change to a rule applies from today or a later day.")}
        )
    if versions.filter(effective_from=effective_from).exists():
        raise ValidationError(
            {"effective_from": _("This rule already has a version starting that day.")}
        )
    if points is None or int(points) < 0:
        raise ValidationError({"points": _("Points are zero or more.")})
    return PointsRule.objects.create(
        grid=grid,
        kind=kind,
        code=code,
        name=required_text(name, field="name", max_length=100),
        points=int(points),
        effective_from=effective_from,
        note=(note or "").strip()[:NOTE_LENGTH],
        created_by=actor,
    )


@transaction.atomic
def rule_delete(*, actor, rule: PointsRule) -> None:
    """Withdraw a version that has not started yet; one in force or past stays (it priced
    points), and a change is a new version."""
    rule = PointsRule.objects.select_for_update(of=("self",)).select_related("grid").get(pk=rule.pk)
    require(permissions.can_manage(actor, rule.grid), _("You may not change this rule."))
    if rule.effective_from <= timezone.localdate():
        raise Conflict(
            _("This version is or was in force; add a new version instead."), code="in_force"
        )
    rule.delete()


@transaction.atomic
def category_difficulty_set(*, actor, category: Category, difficulty: str | None) -> None:
    """How hard a ticket category's work is, for the ticket rules; ``None`` forgets it
    (normal, or the parent's). Categories are county-wide, so administrators set this."""
    require(
        actor is not None and actor.is_superuser,
        _("Only administrators set the difficulty of ticket categories."),
    )
    if difficulty is None:
        CategoryDifficulty.objects.filter(category=category).delete()
        return
    if difficulty not in Difficulty.values:
        raise ValidationError({"difficulty": _("Choose a difficulty: easy, normal or hard.")})
    CategoryDifficulty.objects.update_or_create(
        category=category, defaults={"difficulty": difficulty}
    )


# --- earning ------------------------------------------------------------------------------


def _priced(hours: Decimal, per_hour: int) -> int:
    return int((hours * per_hour).quantize(Decimal(1), rounding=ROUND_HALF_UP))


def points_post_for_signup(*, signup: Signup, activity: Activity, actor) -> PointsEntry | None:
    """The points of a confirmed sign-up (its activity row is locked by the caller): the
    community's hourly rule in force on the activity's day, or the activity's fixed points
    per attendance. Nothing when there is no rule, no points or no account."""
    rule = None
    if activity.points_basis == PointsBasis.HOURS:
        day = timezone.localdate(activity.starts_at)
        rule = selectors.rule_in_effect(grid=activity.grid, kind=RuleKind.VOLUNTEER_HOUR, on=day)
        amount = _priced(signup.hours or Decimal(0), rule.points) if rule else 0
    elif activity.points_basis == PointsBasis.ATTENDANCE:
        amount = activity.attendance_points
    else:
        amount = 0
    if amount <= 0:
        return None
    account = account_for_volunteer(signup.volunteer)
    if account is None:
        return None
    return post_entry(
        account=account,
        amount=amount,
        reason=EntryReason.ACTIVITY,
        source=signup,
        grid=activity.grid,
        rule=rule,
        posted_by=actor,
        note=activity.title,
    )


def _claimer(ticket: Ticket):
    """Who claimed the ticket from the board and still holds it, or ``None``."""
    if ticket.assignee_id is None:
        return None
    claimed = ticket.events.filter(kind=EventKind.CLAIMED, actor_id=ticket.assignee_id).exists()
    return ticket.assignee if claimed else None


@transaction.atomic
def points_post_for_ticket(*, ticket: Ticket) -> PointsEntry | None:
    """党员接单 earns points: when a ticket claimed from the claim board closes rated
    satisfied, its claimer gets the community's ticket rule for the category's difficulty,
    in force on the day it closed.

    Safe to call more than once and from several places: the ledger's ``UNIQUE (source,
    reason)`` makes a second posting impossible, and a second call returns the first
    entry. ``None`` when the ticket does not qualify, or there is no rule or account.
    """
    ticket = Ticket.objects.select_related("grid", "category", "assignee").get(pk=ticket.pk)
    if ticket.status != TicketStatus.CLOSED or ticket.rating != Rating.SATISFIED:
        return None
    existing = _already_posted(ticket, EntryReason.TICKET)
    if existing is not None:
        return existing
    claimer = _claimer(ticket)
    if claimer is None:
        return None
    day = timezone.localdate(ticket.closed_at or timezone.now())
    difficulty = selectors.difficulty_of(ticket.category)
    rule = selectors.rule_in_effect(
        grid=ticket.grid, kind=RuleKind.TICKET_CLAIM, code=difficulty, on=day
    )
    account = account_for_user(claimer)
    if rule is None or rule.points == 0 or account is None:
        return None
    try:
        return post_entry(
            account=account,
            amount=rule.points,
            reason=EntryReason.TICKET,
            source=ticket,
            grid=ticket.grid,
            rule=rule,
            note=ticket.number,
        )
    except Conflict as exc:
        if exc.code != "already_posted":
            raise
        return _already_posted(ticket, EntryReason.TICKET)


@transaction.atomic
def points_award(
    *,
    actor,
    account: PointsAccount,
    grid: Grid,
    kind: str,
    code: str,
    note: str = "",
) -> PointsAward:
    """Staff award points under a rule of their grid: 先进评比 (kind ``award``) or a party
    duty done (``party_duty``, party members only, seed 002's 积分制管理)."""
    grid = territorial_grid(grid)
    require(permissions.can_manage(actor, grid), _("You may not award points here."))
    if kind not in (RuleKind.AWARD, RuleKind.PARTY_DUTY):
        raise ValidationError({"kind": _("Awards are made under award or party-duty rules.")})
    if not selectors.account_list(user=actor).filter(pk=account.pk).exists():
        raise ValidationError({"account": _("Choose an account of your grids.")})
    if kind == RuleKind.PARTY_DUTY and account.kind != AccountKind.PARTY_MEMBER:
        raise ValidationError({"account": _("Party duties earn points for party members only.")})
    today = timezone.localdate()
    rule = selectors.rule_in_effect(grid=grid, kind=kind, code=(code or "").strip(), on=today)
    if rule is None or rule.points == 0:
        raise ValidationError({"code": _("There is no rule in force with this code here.")})
    award = PointsAward.objects.create(
        account=account,
        rule=rule,
        grid=grid,
        note=(note or "").strip()[:NOTE_LENGTH],
        awarded_on=today,
        awarded_by=actor,
    )
    post_entry(
        account=account,
        amount=rule.points,
        reason=EntryReason.AWARD,
        source=award,
        grid=grid,
        rule=rule,
        posted_by=actor,
        note=award.note or rule.name,
    )
    return award
