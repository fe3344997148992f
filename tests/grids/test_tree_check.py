from __future__ import annotations

import pytest
from django.core.management import CommandError, call_command

from grids.models import Grid
from grids.tasks import grid_tree_check_task
from grids.tree_check import check_tree


def test_valid_tree_passes(world, capsys):
    assert check_tree(Grid) == []
    call_command("check_grid_tree")
    assert "tree valid" in capsys.readouterr().out
    assert grid_tree_check_task.delay().get() == 0


@pytest.mark.parametrize(
    "corrupt",
    [
        lambda w: Grid.objects.filter(pk=w.A1.pk).update(lft=999),  # bounds out of place
        lambda w: Grid.objects.filter(pk=w.A1a.pk).update(depth=7),  # wrong depth
        lambda w: Grid.objects.filter(pk=w.A2.pk).update(parent=w.B),  # pointer disagrees
        lambda w: Grid.objects.filter(pk=w.T9.pk).update(parent=None),  # two roots in a tree
        lambda w: Grid.objects.filter(pk=w.C.pk).update(rght=5),  # lft < rght broken for C
    ],
)
def test_broken_tree_is_found_and_repaired(world, corrupt):
    # given
    corrupt(world)
    problems = check_tree(Grid)
    assert problems
    assert grid_tree_check_task.delay().get() == len(problems)

    # when / then
    with pytest.raises(CommandError):
        call_command("check_grid_tree")
    call_command("check_grid_tree", "--repair")
    assert check_tree(Grid) == []
