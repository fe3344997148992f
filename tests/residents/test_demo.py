"""``seed_demo`` fills the demo communities with households and residents, once."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import call_command

from residents.demo import COMMUNITIES
from residents.models import Household, PartyMember, Resident, UnitHeadship
from residents.personal_data import parse_id_number


@pytest.mark.django_db
def test_demo_households_and_residents(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    out = StringIO()
    call_command("seed_demo", "--households-scale", "0.02", stdout=out)
    assert "households" in out.getvalue()

    for spec in COMMUNITIES:
        households = Household.objects.filter(grid__code__startswith=spec.code)
        assert households.count() >= round(spec.households * 0.02) * 0.9, spec.code
    assert Household.objects.filter(grid__code__startswith="141029100001").count() == 140

    sample = Resident.objects.order_by("?")[:50]
    for resident in sample:
        card = parse_id_number(resident.reveal_id_number())
        assert card.birth_date == resident.birth_date
        assert card.gender == resident.gender
    assert Resident.objects.filter(relation="head").count() == Household.objects.count()
    assert not Household.objects.filter(head__isnull=True).exists()
    for member in PartyMember.objects.select_related(
        "organization__grid", "resident__household__grid"
    )[:50]:
        home, org_grid = member.resident.household.grid, member.organization.grid
        assert org_grid.tree_id == home.tree_id
        assert org_grid.lft <= home.lft
        assert home.rght <= org_grid.rght
    assert Household.objects.filter(is_party_lead=True).exists()
    assert Household.objects.filter(lead_household__isnull=False).exists()
    assert UnitHeadship.objects.filter(grid__code__startswith="150621").count() == 6  # 319×0.02
    assert Household.objects.filter(visit_due_on__isnull=False).exists()

    from tickets.models import Ticket, TicketStatus

    statuses = set(Ticket.objects.values_list("status", flat=True))
    assert Ticket.objects.count() == 16 * len(COMMUNITIES)
    assert {TicketStatus.CLOSED, TicketStatus.IN_PROGRESS} <= statuses
    closed = Ticket.objects.filter(status=TicketStatus.CLOSED).first()
    assert closed.created_at < closed.responded_at < closed.resolved_at <= closed.closed_at
    counts = (
        Household.objects.count(),
        Resident.objects.count(),
        PartyMember.objects.count(),
        Ticket.objects.count(),
    )
    again = StringIO()
    call_command("seed_demo", "--households-scale", "0.02", stdout=again)
    assert "Nothing created" in again.getvalue()
    assert counts == (
        Household.objects.count(),
        Resident.objects.count(),
        PartyMember.objects.count(),
        Ticket.objects.count(),
    )
