"""Keeps the rollups right when a grid moves in the tree (``grids.services.grid_move``).

The rows themselves are kept by database triggers (``rollups``); a grid's move is the one
change they cannot see, because it changes which grids are above a whole subtree. Each
grid remembers the parent it was loaded with; when it is saved under another one, the
subtree's facts are moved from the old ancestors to the new ones, in the same
transaction as the move.
"""

from __future__ import annotations

from django.db.models.signals import post_init, post_save
from django.dispatch import receiver

from governance.dashboard import rollups
from grids.models import Grid

_LOADED_PARENT = "_dashboard_loaded_parent_id"


@receiver(post_init, sender=Grid, dispatch_uid="dashboard_grid_loaded")
def grid_loaded(sender, instance: Grid, **kwargs) -> None:
    if "parent_id" in instance.__dict__:  # not when deferred (``only()``)
        instance.__dict__[_LOADED_PARENT] = instance.__dict__["parent_id"]


@receiver(post_save, sender=Grid, dispatch_uid="dashboard_grid_saved")
def grid_saved(sender, instance: Grid, created: bool = False, raw: bool = False, **kwargs) -> None:
    known = _LOADED_PARENT in instance.__dict__
    loaded = instance.__dict__.get(_LOADED_PARENT)
    instance.__dict__[_LOADED_PARENT] = instance.parent_id
    if created or raw or not known or loaded == instance.parent_id:
        return
    rollups.grid_moved(instance, loaded)
