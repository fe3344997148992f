"""The volunteers app in the admin, one module per subject: ``activities`` (team kinds,
volunteers, teams, activities with attendance), ``points`` (rules, difficulties, accounts,
entries, awards), ``shop`` (shops, items, redemptions to hand out), ``dual`` (pairings,
registrations, the organization report).

Scoped like everything that hangs off a grid (``ScopedAdminMixin``); writes go through
``volunteers.services``, so the rules (capacity, balances, versions, rights) hold here too.
"""

from volunteers.admin import activities, dual, points, shop

__all__ = ["activities", "dual", "points", "shop"]
