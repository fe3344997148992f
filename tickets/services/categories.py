"""Writes to the category tree. Categories are configuration: administrators only.
django-mptt rewrites bounds on every insert or move, so each write takes the tree lock
as the grid tree does (``grids.locking``).
"""

from __future__ import annotations

import datetime

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _

from grids.locking import acquire_tree_lock
from grids.models import GridKind
from tickets.models import Category, Route

CATEGORY_FIELDS = frozenset(
    {
        "name",
        "code",
        "parent",
        "respond_within",
        "resolve_within",
        "report_within",
        "default_route",
        "department",
        "allows_anonymous",
        "auto_dispatch",
        "is_active",
    }
)


def _require_superuser(actor) -> None:
    if not (actor is not None and actor.is_authenticated and actor.is_superuser):
        raise PermissionDenied(_("Only an administrator can change ticket categories."))


def _reread_category(pk: int, *, field: str) -> Category:
    try:
        return Category.objects.get(pk=pk)
    except Category.DoesNotExist as exc:
        raise ValidationError({field: _("This category no longer exists.")}) from exc


def category_errors(category: Category) -> dict[str, str]:
    """Why the category cannot be saved as it is (empty when it can)."""
    errors: dict[str, str] = {}
    if not (category.name or "").strip():
        errors["name"] = _("The name is required.")
    if not (category.code or "").strip():
        errors["code"] = _("The code is required.")
    elif Category.objects.filter(code=category.code).exclude(pk=category.pk).exists():
        errors["code"] = _("Another category already has this code.")
    if category.default_route not in Route.values:
        errors["default_route"] = _("Unknown route.")
    if category.department is not None and category.department.kind != GridKind.INDUSTRY:
        errors["department"] = _("A department is an industry grid.")
    elif category.default_route == Route.DEPARTMENT and category.department is None:
        errors["department"] = _("Choose the department this route whistles.")
    zero = datetime.timedelta(0)
    for field in ("respond_within", "resolve_within", "report_within"):
        value = getattr(category, field)
        if value is None or value <= zero:
            errors[field] = _("Give a time longer than zero.")
    if (
        "respond_within" not in errors
        and "resolve_within" not in errors
        and category.resolve_within < category.respond_within
    ):
        errors["resolve_within"] = _("Resolving cannot be due before responding.")
    return errors


def _save_category(category: Category) -> Category:
    errors = category_errors(category)
    if errors:
        raise ValidationError(errors)
    try:
        with transaction.atomic():
            category.save()
    except IntegrityError as exc:  # a concurrent create took the code
        raise ValidationError({"code": _("Another category already has this code.")}) from exc
    return category


@transaction.atomic
def category_create(*, actor, name: str, code: str, parent: Category | None = None, **policy):
    unknown = set(policy) - CATEGORY_FIELDS
    if unknown:
        raise ValidationError({f: _("This field cannot be set here.") for f in unknown})
    _require_superuser(actor)
    acquire_tree_lock(Category)
    if parent is not None:
        parent = _reread_category(parent.pk, field="parent")
    category = Category(
        name=(name or "").strip(), code=(code or "").strip(), parent=parent, **policy
    )
    return _save_category(category)


@transaction.atomic
def category_update(*, actor, category: Category, **changes) -> Category:
    """Change a category; a new parent or code moves it in the tree (under the lock)."""
    unknown = set(changes) - CATEGORY_FIELDS
    if unknown:
        raise ValidationError({f: _("This field cannot be changed here.") for f in unknown})
    _require_superuser(actor)
    acquire_tree_lock(Category)
    category = _reread_category(category.pk, field="id")
    if changes.get("parent") is not None:
        parent = _reread_category(changes["parent"].pk, field="parent")
        if parent.is_descendant_of(category, include_self=True):
            raise ValidationError(
                {"parent": _("A category cannot hang under itself or its subcategories.")}
            )
        changes["parent"] = parent
    for field, value in changes.items():
        setattr(category, field, value.strip() if isinstance(value, str) else value)
    return _save_category(category)


@transaction.atomic
def category_delete(*, actor, category: Category) -> None:
    """Delete an unused leaf category; one with tickets is deactivated instead."""
    _require_superuser(actor)
    acquire_tree_lock(Category)
    category = _reread_category(category.pk, field="id")
    if not category.is_leaf_node():
        raise ValidationError({"id": _("This category has subcategories.")})
    if category.tickets.exists():
        raise ValidationError({"id": _("This category has tickets; deactivate it instead.")})
    category.delete()
