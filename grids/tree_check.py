"""Verify, and on request repair, the nested-set bounds of an MPTT tree.

The check recomputes what ``lft``/``rght``/depth must be from the parent pointers
(keeping the current sibling order) and compares: that is the definition of a valid
tree, so nothing weaker (say, only ``lft < rght``) can pass a broken one.
"""

from __future__ import annotations

from collections import defaultdict

from django.db import transaction
from mptt.models import MPTTModel

from grids.locking import acquire_tree_lock


def check_tree(model: type[MPTTModel]) -> list[str]:
    """Every broken invariant of ``model``'s trees, as readable sentences."""
    opts = model._mptt_meta
    rows = list(
        model._default_manager.order_by(opts.tree_id_attr, opts.left_attr).values_list(
            "pk",
            f"{opts.parent_attr}_id",
            opts.tree_id_attr,
            opts.left_attr,
            opts.right_attr,
            opts.level_attr,
        )
    )
    nodes = {pk: (parent, tree, lft, rght, depth) for pk, parent, tree, lft, rght, depth in rows}
    problems: list[str] = []
    children: dict[int | None, list[int]] = defaultdict(list)
    roots_by_tree: dict[int, list[int]] = defaultdict(list)
    for pk, parent, tree, lft, rght, _depth in rows:
        if lft >= rght:
            problems.append(f"node {pk}: lft {lft} is not below rght {rght}")
        if parent is None:
            roots_by_tree[tree].append(pk)
        elif parent not in nodes:
            problems.append(f"node {pk}: parent {parent} does not exist")
        elif nodes[parent][1] != tree:
            problems.append(f"node {pk}: tree {tree} differs from its parent's {nodes[parent][1]}")
        else:
            children[parent].append(pk)
    trees = {tree for _pk, _parent, tree, *_rest in rows}
    for tree in sorted(trees):
        roots = roots_by_tree.get(tree, [])
        if len(roots) != 1:
            problems.append(f"tree {tree}: {len(roots)} roots instead of one")
    reached: set[int] = set()
    for tree in sorted(roots_by_tree):
        for root in roots_by_tree[tree]:
            problems.extend(_walk(root, nodes, children, reached))
    unreached = set(nodes) - reached
    if unreached:
        sample = ", ".join(str(pk) for pk in sorted(unreached)[:10])
        problems.append(f"{len(unreached)} nodes are not reachable from a root: {sample}")
    return problems


def _walk(root, nodes, children, reached) -> list[str]:
    """Recompute bounds depth-first (iteratively: trees may be deep) and compare."""
    problems: list[str] = []
    counter = 1
    stack: list[tuple[int, int, bool]] = [(root, 0, False)]
    expected_left: dict[int, int] = {}
    while stack:
        pk, depth, closing = stack.pop()
        _parent, _tree, lft, rght, actual_depth = nodes[pk]
        if closing:
            if rght != counter:
                problems.append(f"node {pk}: rght is {rght}, expected {counter}")
            counter += 1
            continue
        if pk in reached:
            problems.append(f"node {pk}: reached twice (a cycle)")
            continue
        reached.add(pk)
        expected_left[pk] = counter
        if lft != counter:
            problems.append(f"node {pk}: lft is {lft}, expected {counter}")
        if actual_depth != depth:
            problems.append(f"node {pk}: depth is {actual_depth}, expected {depth}")
        counter += 1
        stack.append((pk, depth, True))
        ordered = sorted(children.get(pk, []), key=lambda c: nodes[c][2])
        for child in reversed(ordered):
            stack.append((child, depth + 1, False))
    return problems


@transaction.atomic
def repair_tree(model: type[MPTTModel]) -> None:
    """Rebuild every bound from the parent pointers, holding the tree lock."""
    acquire_tree_lock(model)
    model._tree_manager.rebuild()
