"""Dual registration (双报到双服务): units pair with communities, in-service party members
register with the community where they live. Community staff record both."""

from __future__ import annotations

import datetime

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from governance.errors import Conflict
from grids.models import Grid, GridLevel, PartyOrganization
from residents.models import PartyMember, PartyMemberStatus
from volunteers import permissions
from volunteers.models import DualRegistration, UnitPairing
from volunteers.services.common import require, territorial_grid

REGISTRATION_LEVELS = (GridLevel.COMMUNITY, GridLevel.ESTATE, GridLevel.MICRO)


@transaction.atomic
def pairing_create(
    *,
    actor,
    organization: PartyOrganization,
    community: Grid,
    starts_on: datetime.date | None = None,
    note: str = "",
) -> UnitPairing:
    """结对: a unit's party organization pairs with a community (seed 001: 54 of them)."""
    community = territorial_grid(community, field="community")
    require(permissions.can_manage(actor, community), _("You may not pair units with this grid."))
    if community.level != GridLevel.COMMUNITY:
        raise ValidationError({"community": _("Units pair with a community or village.")})
    if UnitPairing.objects.filter(
        organization=organization, community=community, ends_on__isnull=True
    ).exists():
        raise ValidationError({"organization": _("This unit is already paired with it.")})
    try:
        with transaction.atomic():
            return UnitPairing.objects.create(
                organization=organization,
                community=community,
                starts_on=starts_on or timezone.localdate(),
                note=(note or "").strip()[:200],
                created_by=actor,
            )
    except IntegrityError as exc:
        raise ValidationError({"organization": _("This unit is already paired with it.")}) from exc


@transaction.atomic
def pairing_end(
    *, actor, pairing: UnitPairing, ends_on: datetime.date | None = None
) -> UnitPairing:
    pairing = (
        UnitPairing.objects.select_for_update(of=("self",))
        .select_related("community")
        .get(pk=pairing.pk)
    )
    require(permissions.can_manage(actor, pairing.community), _("You may not end this pairing."))
    if pairing.ends_on is not None:
        raise Conflict(_("This pairing has already ended."), code="ended")
    ends_on = ends_on or timezone.localdate()
    if ends_on < pairing.starts_on:
        raise ValidationError({"ends_on": _("The end cannot come before the start.")})
    pairing.ends_on = ends_on
    pairing.save(update_fields=["ends_on"])
    return pairing


@transaction.atomic
def registration_create(
    *,
    actor,
    party_member: PartyMember,
    grid: Grid,
    organization: PartyOrganization | None = None,
    registered_on: datetime.date | None = None,
    note: str = "",
) -> DualRegistration:
    """双报到: an in-service party member registers with the community where they live,
    on one of its grids; ``organization`` is their unit (by default their own party
    organization), whose report counts what they do there."""
    grid = territorial_grid(grid)
    require(
        permissions.can_manage(actor, grid), _("You may not register party members on this grid.")
    )
    if grid.level not in REGISTRATION_LEVELS:
        raise ValidationError({"grid": _("Register on a community, estate or micro grid.")})
    party_member = PartyMember.objects.select_related("organization").get(pk=party_member.pk)
    if party_member.status != PartyMemberStatus.IN_SERVICE:
        raise ValidationError(
            {"party_member": _("Dual registration is for party members in service.")}
        )
    open_ = DualRegistration.objects.filter(party_member=party_member, ended_on__isnull=True)
    if open_.exists():
        raise ValidationError(
            {"party_member": _("This member is already registered; end that registration first.")}
        )
    try:
        with transaction.atomic():
            return DualRegistration.objects.create(
                party_member=party_member,
                grid=grid,
                organization=organization or party_member.organization,
                registered_on=registered_on or timezone.localdate(),
                note=(note or "").strip()[:200],
                created_by=actor,
            )
    except IntegrityError as exc:  # registered from two desks at once
        raise ValidationError(
            {"party_member": _("This member is already registered; end that registration first.")}
        ) from exc


@transaction.atomic
def registration_end(
    *, actor, registration: DualRegistration, ended_on: datetime.date | None = None
) -> DualRegistration:
    registration = (
        DualRegistration.objects.select_for_update(of=("self",))
        .select_related("grid")
        .get(pk=registration.pk)
    )
    require(
        permissions.can_manage(actor, registration.grid),
        _("You may not end this registration."),
    )
    if registration.ended_on is not None:
        raise Conflict(_("This registration has already ended."), code="ended")
    ended_on = ended_on or timezone.localdate()
    if ended_on < registration.registered_on:
        raise ValidationError({"ended_on": _("The end cannot come before the registration.")})
    registration.ended_on = ended_on
    registration.save(update_fields=["ended_on"])
    return registration
