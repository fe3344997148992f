"""Categories: the default set from the data migration, the category services (rules,
tree, administrators only) and ``/api/v1/ticket-categories/``."""

from __future__ import annotations

import datetime
from importlib import import_module

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from grids.tree_check import check_tree
from tests.grids.factories import superuser
from tests.tickets.factories import make_category, open_ticket
from tickets import services
from tickets.models import Category, Route

seed = import_module("tickets.migrations.0002_default_categories")

DEFAULT_CODES = {
    "safety_hazard",
    "fire",
    "dispute",
    "environment",
    "facility_repair",
    "livelihood",
    "elderly_help",
    "epidemic",
    "proposal",
}


@pytest.fixture
def migration_apps(db):
    """The models as the data migration sees them: historical, without django-mptt's
    manager, so the tree fields it writes by hand are what ends up in the table."""
    state = MigrationExecutor(connection).loader.project_state(
        ("tickets", "0002_default_categories")
    )
    return state.apps


def test_the_data_migration_creates_the_defaults_and_takes_them_back(migration_apps):
    # given an empty table (a transactional test elsewhere may have flushed the seed)
    Category.objects.filter(level__gt=0).delete()
    Category.objects.all().delete()

    # when
    seed.create_defaults(migration_apps, None)

    # then
    assert set(Category.objects.values_list("code", flat=True)) == DEFAULT_CODES
    assert check_tree(Category) == []
    fire = Category.objects.get(code="fire")
    assert fire.parent.code == "safety_hazard"
    assert fire.respond_within == datetime.timedelta(minutes=10)  # seed 003
    assert fire.auto_dispatch
    assert fire.allows_anonymous
    assert Category.objects.get(code="elderly_help").default_route == Route.CLAIM_BOARD
    assert Category.objects.get(code="proposal").default_route == Route.DELIBERATION
    # the tree accepts new nodes in its order after the hand-written bounds
    make_category(name="高空抛物", code="falling_objects", parent=fire.parent)
    assert check_tree(Category) == []

    # running it again adds nothing; reversing removes only the defaults
    seed.create_defaults(migration_apps, None)
    assert Category.objects.count() == len(DEFAULT_CODES) + 1
    Category.objects.filter(code="falling_objects").delete()
    seed.delete_defaults(migration_apps, None)
    assert not Category.objects.exists()


def test_category_rules(world):
    root = superuser()
    base = {"actor": root, "name": "治安", "code": "public-order"}
    refusals = [
        ({"default_route": Route.DEPARTMENT}, "department"),
        ({"default_route": Route.DEPARTMENT, "department": world.A1}, "department"),
        ({"respond_within": datetime.timedelta(0)}, "respond_within"),
        (
            {
                "respond_within": datetime.timedelta(days=2),
                "resolve_within": datetime.timedelta(days=1),
            },
            "resolve_within",
        ),
        ({"name": " "}, "name"),
    ]
    for changes, field in refusals:
        with pytest.raises(ValidationError) as refused:
            services.category_create(**{**base, **changes})
        assert field in refused.value.message_dict, changes
    created = services.category_create(**base, default_route=Route.DEPARTMENT, department=world.D1)
    with pytest.raises(ValidationError) as taken:
        services.category_create(**base)
    assert "code" in taken.value.message_dict
    assert Category.objects.filter(code="public-order").count() == 1
    assert created.department == world.D1


def test_only_administrators_change_categories(world, staff):
    with pytest.raises(PermissionDenied):
        services.category_create(actor=staff, name="x", code="x")
    category = make_category()
    with pytest.raises(PermissionDenied):
        services.category_update(actor=staff, category=category, name="y")
    with pytest.raises(PermissionDenied):
        services.category_delete(actor=staff, category=category)


def test_move_and_delete(world, hazard, frank):
    root = superuser()
    fire = make_category(name="消防火情")
    services.category_update(actor=root, category=fire, parent=hazard)
    assert Category.objects.get(pk=fire.pk).parent == hazard
    assert check_tree(Category) == []
    with pytest.raises(ValidationError):
        services.category_update(actor=root, category=hazard, parent=fire)  # a cycle
    with pytest.raises(ValidationError):
        services.category_delete(actor=root, category=hazard)  # has a subcategory
    open_ticket(category=fire, grid=world.A1, reporter=frank)
    with pytest.raises(ValidationError):
        services.category_delete(actor=root, category=fire)  # has tickets
    unused = make_category()
    services.category_delete(actor=root, category=unused)
    assert not Category.objects.filter(pk=unused.pk).exists()
    assert check_tree(Category) == []


# --- API -----------------------------------------------------------------------------------------


def test_everyone_signed_in_reads_categories(world, hazard, frank, api_client_for, client):
    response = api_client_for(frank).get("/api/v1/ticket-categories/", {"search": hazard.code})
    assert response.status_code == 200
    [row] = response.json()["results"]
    assert (row["id"], row["respond_within"], row["default_route"]) == (
        hazard.pk,
        "01:00:00",
        "worker",
    )
    assert client.get("/api/v1/ticket-categories/").status_code in (401, 403)


def test_only_administrators_write_categories(world, staff, admin_user, api_client_for):
    new = {
        "name": "占道经营",
        "code": "street-vending",
        "respond_within": "00:30:00",
        "resolve_within": "1 00:00:00",
        "report_within": "02:00:00",
        "default_route": "department",
        "department": world.D2.pk,
        "auto_dispatch": True,
    }
    assert api_client_for(staff).post("/api/v1/ticket-categories/", new).status_code == 403

    admin = api_client_for(admin_user)
    missing = admin.post("/api/v1/ticket-categories/", {**new, "department": None}, format="json")
    assert missing.status_code == 400
    assert "department" in missing.json()
    created = admin.post("/api/v1/ticket-categories/", new, format="json")
    assert created.status_code == 201, created.json()
    category = Category.objects.get(code="street-vending")
    assert category.resolve_within == datetime.timedelta(days=1)

    renamed = admin.patch(
        f"/api/v1/ticket-categories/{category.pk}/", {"name": "占道经营（流动摊贩）"}, format="json"
    )
    assert renamed.status_code == 200
    assert admin.delete(f"/api/v1/ticket-categories/{category.pk}/").status_code == 204
    assert not Category.objects.filter(code="street-vending").exists()
