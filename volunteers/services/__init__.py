"""Every write of the volunteers app: one function per state change, keyword-only, atomic.

Bad input raises ``ValidationError`` keyed by field (400), a missing right
``PermissionDenied`` (403), a state that does not allow the change ``Conflict`` (409: the
activity is full, the balance too low, the last item gone, the hours already confirmed).
Rows that two people can race for are locked: an activity before its sign-ups, an account
before a shop item before a redemption.

Callers import from here (``from volunteers import services``); the modules of this
package are its chapters: ``teams``, ``activities``, ``ledger``, ``shop``, ``dual``.
"""

from __future__ import annotations

from volunteers.services.activities import (
    activity_cancel,
    activity_check_in_with_code,
    activity_confirm_all,
    activity_create,
    activity_update,
    derived_hours,
    signup_cancel,
    signup_check_in,
    signup_check_out,
    signup_confirm,
    signup_create,
)
from volunteers.services.dual import (
    pairing_create,
    pairing_end,
    registration_create,
    registration_end,
)
from volunteers.services.ledger import (
    account_for,
    account_for_user,
    account_for_volunteer,
    category_difficulty_set,
    points_award,
    points_entry_reverse,
    points_post_for_signup,
    points_post_for_ticket,
    post_entry,
    reverse_entry,
    rule_delete,
    rule_set,
)
from volunteers.services.shop import (
    item_create,
    item_update,
    redemption_cancel,
    redemption_create,
    redemption_fulfil,
    redemptions_expire,
    shop_create,
    shop_update,
)
from volunteers.services.teams import (
    team_add_member,
    team_create,
    team_kind_create,
    team_remove_member,
    team_update,
    volunteer_register,
    volunteer_update,
)

__all__ = [
    "account_for",
    "account_for_user",
    "account_for_volunteer",
    "activity_cancel",
    "activity_check_in_with_code",
    "activity_confirm_all",
    "activity_create",
    "activity_update",
    "category_difficulty_set",
    "derived_hours",
    "item_create",
    "item_update",
    "pairing_create",
    "pairing_end",
    "points_award",
    "points_entry_reverse",
    "points_post_for_signup",
    "points_post_for_ticket",
    "post_entry",
    "redemption_cancel",
    "redemption_create",
    "redemption_fulfil",
    "redemptions_expire",
    "registration_create",
    "registration_end",
    "reverse_entry",
    "rule_delete",
    "rule_set",
    "shop_create",
    "shop_update",
    "signup_cancel",
    "signup_check_in",
    "signup_check_out",
    "signup_confirm",
    "signup_create",
    "team_add_member",
    "team_create",
    "team_kind_create",
    "team_remove_member",
    "team_update",
    "volunteer_register",
    "volunteer_update",
]
