"""The points ledger: sums, double posting, reversals, append-only rows, rules with dates."""

from __future__ import annotations

import datetime
import random

import pytest
import time_machine
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Sum
from django.utils import timezone

from governance.errors import Conflict
from tests.grids.factories import superuser
from tests.volunteers.factories import fund, make_activity, make_item, make_rule, make_shop
from volunteers import selectors, services
from volunteers.models import (
    EntryReason,
    PointsAccount,
    PointsAward,
    PointsEntry,
    RuleKind,
    Signup,
)


def assert_ledger_consistent() -> None:
    """Every account's balance is the sum of its entries, and none is negative."""
    for account in PointsAccount.objects.all():
        total = account.entries.aggregate(total=Sum("amount"))["total"] or 0
        assert account.balance == total >= 0, account
        last = account.entries.order_by("-posted_at", "-pk").first()
        assert last is None or last.balance_after == account.balance


def test_award_posts_an_entry_and_moves_the_balance(world, staff, vera_account):
    make_rule(world.A, RuleKind.AWARD, 20, code="civilised_family", name="文明家庭")

    award = services.points_award(
        actor=staff,
        account=vera_account,
        grid=world.A,
        kind=RuleKind.AWARD,
        code="civilised_family",
    )

    entry = PointsEntry.objects.get()
    assert (entry.account, entry.amount, entry.reason) == (vera_account, 20, EntryReason.AWARD)
    assert entry.source == award
    assert entry.posted_by == staff
    assert entry.balance_after == 20
    vera_account.refresh_from_db()
    assert vera_account.balance == 20
    assert_ledger_consistent()


def test_the_same_source_cannot_be_posted_twice(world, vera_account):
    award = fund(vera_account, 5, world.A)

    with pytest.raises(Conflict) as refused:
        services.post_entry(
            account=vera_account, amount=5, reason=EntryReason.AWARD, source=award, grid=world.A
        )
    assert refused.value.code == "already_posted"

    # and the database itself refuses it, whoever writes
    with pytest.raises(IntegrityError), transaction.atomic():
        PointsEntry.objects.create(
            account=vera_account,
            amount=5,
            reason=EntryReason.AWARD,
            source_type=ContentType.objects.get_for_model(PointsAward),
            source_id=award.pk,
            grid=world.A,
            balance_after=10,
        )
    assert PointsEntry.objects.count() == 1
    assert_ledger_consistent()


def test_reversal_restores_the_balance_once(world, staff, vera_account):
    fund(vera_account, 30, world.A)
    award = fund(vera_account, 12, world.A)
    entry = PointsEntry.objects.get(source_id=award.pk, reason=EntryReason.AWARD)

    reversal = services.points_entry_reverse(actor=staff, entry=entry, note="重复录入")

    assert reversal.amount == -12
    assert reversal.reverses == entry
    vera_account.refresh_from_db()
    assert vera_account.balance == 30
    with pytest.raises(Conflict) as twice:
        services.points_entry_reverse(actor=staff, entry=entry, note="again")
    assert twice.value.code == "already_reversed"
    with pytest.raises(Conflict) as of_reversal:
        services.points_entry_reverse(actor=staff, entry=reversal, note="undo")
    assert of_reversal.value.code == "is_reversal"
    assert_ledger_consistent()


def test_reversal_needs_a_reason_and_the_right(world, staff, outsider, vera_account):
    fund(vera_account, 8, world.A)
    entry = PointsEntry.objects.get()
    with pytest.raises(ValidationError) as no_reason:
        services.points_entry_reverse(actor=staff, entry=entry, note=" ")
    assert "note" in no_reason.value.message_dict
    with pytest.raises(PermissionDenied):
        services.points_entry_reverse(actor=outsider, entry=entry, note="不是我的")
    assert PointsEntry.objects.count() == 1


def test_reversing_points_already_spent_is_refused(world, staff, vera, vera_account):
    award = fund(vera_account, 10, world.A)
    item = make_item(make_shop(world.A), price=10)
    services.redemption_create(actor=vera, item=item)

    entry = PointsEntry.objects.get(source_id=award.pk, reason=EntryReason.AWARD)
    with pytest.raises(Conflict) as refused:
        services.points_entry_reverse(actor=staff, entry=entry, note="错发")
    assert refused.value.code == "insufficient_points"
    vera_account.refresh_from_db()
    assert vera_account.balance == 0
    assert_ledger_consistent()


def test_a_spend_is_corrected_by_cancelling_the_redemption(world, staff, vera, vera_account):
    fund(vera_account, 10, world.A)
    services.redemption_create(actor=vera, item=make_item(make_shop(world.A), price=10))
    spend = PointsEntry.objects.get(reason=EntryReason.REDEMPTION)
    with pytest.raises(Conflict) as refused:
        services.points_entry_reverse(actor=staff, entry=spend, note="x")
    assert refused.value.code == "is_redemption"


def test_ledger_rows_are_append_only_in_the_database(world, vera_account):
    fund(vera_account, 10, world.A)
    entry = PointsEntry.objects.get()

    with pytest.raises(IntegrityError), transaction.atomic():
        PointsEntry.objects.filter(pk=entry.pk).update(amount=1000)
    with pytest.raises(IntegrityError), transaction.atomic():
        PointsEntry.objects.filter(pk=entry.pk).delete()

    entry.refresh_from_db()
    assert entry.amount == 10


def test_a_negative_balance_is_refused_by_the_database(world, vera_account):
    with pytest.raises(IntegrityError), transaction.atomic():
        PointsAccount.objects.filter(pk=vera_account.pk).update(balance=-1)


def test_sum_invariant_after_any_sequence_of_services(world, staff, vera, pete, homes):
    # given two accounts, a shop, an hourly rule and a finished activity each attended
    rng = random.Random(20261122)
    vera_account = services.account_for(resident=homes["wang"])
    pete_account = services.account_for(party_member=homes["li"].party_membership)
    household = services.account_for(household=homes["h1"])
    accounts = [vera_account, pete_account, household]
    item = make_item(make_shop(world.A), price=7, stock=1000)
    make_rule(world.A, RuleKind.VOLUNTEER_HOUR, 10)
    start = timezone.now() - datetime.timedelta(hours=1)
    users = {vera_account.pk: vera, pete_account.pk: pete}

    # when a random mix of earning, spending, cancelling and correcting happens
    for step in range(80):
        action = rng.choice(["award", "redeem", "cancel", "reverse", "activity"])
        account = rng.choice(accounts)
        refused = None
        try:
            if action == "award":
                fund(account, rng.choice([3, 5, 11]), world.A)
            elif action == "redeem":
                services.redemption_create(
                    actor=staff, item=item, account=account, quantity=rng.randint(1, 2)
                )
            elif action == "cancel":
                pending = account.redemptions.filter(status="pending").first()
                if pending:
                    services.redemption_cancel(actor=staff, redemption=pending)
            elif action == "reverse":
                candidates = list(
                    PointsEntry.objects.filter(account=account, reversal__isnull=True).exclude(
                        reason__in=[EntryReason.REVERSAL, EntryReason.REDEMPTION]
                    )
                )
                if candidates:
                    services.points_entry_reverse(
                        actor=staff, entry=rng.choice(candidates), note=f"更正 {step}"
                    )
            elif action == "activity" and account.pk in users:
                activity = make_activity(world.A1, starts_at=start, hours=2, title=f"活动{step}")
                signup = services.signup_create(
                    actor=superuser(),
                    activity=activity,
                    volunteer=users[account.pk].volunteer_profile,
                )
                with time_machine.travel(start + datetime.timedelta(minutes=5)):
                    services.signup_check_in(actor=superuser(), signup=signup)
                with time_machine.travel(start + datetime.timedelta(minutes=100)):
                    services.signup_check_out(actor=superuser(), signup=signup)
                services.signup_confirm(actor=superuser(), signup=signup)
        except Conflict as exc:
            refused = exc.code
        # the one refusal expected is "not enough points", and then the ledger is as before
        assert refused in (None, "insufficient_points")
        # then after every step the ledger adds up
        assert_ledger_consistent()

    # and every kind of entry took part in the sequence
    assert set(PointsEntry.objects.values_list("reason", flat=True)) == {
        EntryReason.AWARD,
        EntryReason.ACTIVITY,
        EntryReason.REDEMPTION,
        EntryReason.REVERSAL,
    }
    assert Signup.objects.filter(status="confirmed").exists()


def test_rules_apply_from_their_date_and_the_deepest_grid_wins(world, staff):
    # given an hourly rule for the township and two versions for community A
    make_rule(world.T1, RuleKind.VOLUNTEER_HOUR, 5)
    make_rule(world.A, RuleKind.VOLUNTEER_HOUR, 10, effective_from=datetime.date(2026, 1, 1))
    today = timezone.localdate()
    later = today + datetime.timedelta(days=10)
    services.rule_set(
        actor=staff,
        grid=world.A,
        kind=RuleKind.VOLUNTEER_HOUR,
        name="每小时",
        points=12,
        effective_from=later,
    )

    def price(grid, on):
        rule = selectors.rule_in_effect(grid=grid, kind=RuleKind.VOLUNTEER_HOUR, on=on)
        return rule.points if rule else None

    assert price(world.A1a, datetime.date(2025, 6, 1)) == 5  # before A had its own
    assert price(world.A1a, today) == 10
    assert price(world.A1a, later) == 12
    assert price(world.B1, later) == 5
    assert price(world.T9, later) is None


def test_a_rule_change_cannot_be_backdated_and_past_versions_stay(world, staff):
    first = make_rule(world.A, RuleKind.VOLUNTEER_HOUR, 10)
    yesterday = timezone.localdate() - datetime.timedelta(days=1)
    with pytest.raises(ValidationError) as backdated:
        services.rule_set(
            actor=staff,
            grid=world.A,
            kind=RuleKind.VOLUNTEER_HOUR,
            name="x",
            points=3,
            effective_from=yesterday,
        )
    assert "effective_from" in backdated.value.message_dict
    with pytest.raises(Conflict):
        services.rule_delete(actor=staff, rule=first)
    future = services.rule_set(
        actor=staff,
        grid=world.A,
        kind=RuleKind.VOLUNTEER_HOUR,
        name="x",
        points=3,
        effective_from=timezone.localdate() + datetime.timedelta(days=3),
    )
    services.rule_delete(actor=staff, rule=future)
    assert list(world.A.points_rules.all()) == [first]


def test_rule_codes_follow_their_kind_and_staff_alone_set_them(world, staff, worker):
    with pytest.raises(ValidationError) as bad:
        services.rule_set(actor=staff, grid=world.A, kind=RuleKind.TICKET_CLAIM, name="x", points=3)
    assert "code" in bad.value.message_dict
    with pytest.raises(PermissionDenied):
        services.rule_set(
            actor=worker, grid=world.A1, kind=RuleKind.VOLUNTEER_HOUR, name="x", points=3
        )


def test_party_duties_earn_points_for_party_members_only(world, staff, vera_account, pete_account):
    make_rule(world.A, RuleKind.PARTY_DUTY, 5, code="three_meetings", name="三会一课")

    services.points_award(
        actor=staff,
        account=pete_account,
        grid=world.A,
        kind=RuleKind.PARTY_DUTY,
        code="three_meetings",
    )
    with pytest.raises(ValidationError) as not_member:
        services.points_award(
            actor=staff,
            account=vera_account,
            grid=world.A,
            kind=RuleKind.PARTY_DUTY,
            code="three_meetings",
        )
    assert "account" in not_member.value.message_dict
    with pytest.raises(ValidationError) as no_rule:
        services.points_award(
            actor=staff, account=pete_account, grid=world.A, kind=RuleKind.AWARD, code="nothing"
        )
    assert "code" in no_rule.value.message_dict
    pete_account.refresh_from_db()
    assert pete_account.balance == 5


def test_staff_award_only_accounts_of_their_grids(world, staff, victor, homes):
    make_rule(world.A, RuleKind.AWARD, 5, code="good_deed")
    outside = services.account_for(resident=homes["zhao"])
    with pytest.raises(ValidationError) as refused:
        services.points_award(
            actor=staff, account=outside, grid=world.A, kind=RuleKind.AWARD, code="good_deed"
        )
    assert "account" in refused.value.message_dict
    assert not PointsEntry.objects.exists()
