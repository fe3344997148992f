"""The default ticket categories named in the tickets issue, with their policies.

Names are data, in Chinese, as the communities use them; administrators rename, add and
retune them in the admin. Seed 003 sets the one hard figure: a fire is answered within
10 minutes. The rest are starting values a community adjusts to its own practice.

The migration's historical model has no django-mptt manager, so the tree fields are
written here directly (roots ordered by code, as ``order_insertion_by`` keeps them).
"""

from datetime import timedelta

from django.db import migrations
from django.db.models import Max

MINUTE = timedelta(minutes=1)
HOUR = timedelta(hours=1)
DAY = timedelta(days=1)

# code, name, parent code, respond within, resolve within, report-in within, route,
# auto-dispatch, anonymous allowed
DEFAULTS = [
    ("dispute", "矛盾纠纷", None, 2 * HOUR, 7 * DAY, DAY, "worker", False, False),
    ("elderly_help", "为老服务订单", None, 2 * HOUR, 2 * DAY, 4 * HOUR, "claim_board", True, False),
    ("environment", "环境与市容", None, 4 * HOUR, 3 * DAY, 4 * HOUR, "worker", True, True),
    ("epidemic", "疫情防控", None, HOUR, DAY, 2 * HOUR, "worker", True, True),
    ("facility_repair", "设施报修", None, 4 * HOUR, 3 * DAY, 4 * HOUR, "worker", True, True),
    ("livelihood", "民生诉求", None, DAY, 7 * DAY, DAY, "claim_board", False, False),
    ("proposal", "议事提案", None, 3 * DAY, 30 * DAY, 3 * DAY, "deliberation", True, False),
    ("safety_hazard", "安全隐患", None, HOUR, 2 * DAY, 2 * HOUR, "worker", True, True),
    # seed 003: fire response within 10 minutes
    ("fire", "消防火情", "safety_hazard", 10 * MINUTE, 2 * HOUR, 10 * MINUTE, "worker", True, True),
]


def create_defaults(apps, schema_editor):
    Category = apps.get_model("tickets", "Category")
    existing = set(Category.objects.values_list("code", flat=True))
    next_tree = (Category.objects.aggregate(top=Max("tree_id"))["top"] or 0) + 1
    roots = [row for row in DEFAULTS if row[2] is None and row[0] not in existing]
    children = [row for row in DEFAULTS if row[2] is not None and row[0] not in existing]
    created = {}
    for code, name, _parent, respond, resolve, report, route, auto, anonymous in roots:
        own = [row for row in children if row[2] == code]
        created[code] = Category.objects.create(
            code=code,
            name=name,
            parent=None,
            respond_within=respond,
            resolve_within=resolve,
            report_within=report,
            default_route=route,
            auto_dispatch=auto,
            allows_anonymous=anonymous,
            tree_id=next_tree,
            lft=1,
            rght=2 + 2 * len(own),
            level=0,
        )
        for position, row in enumerate(sorted(own)):
            code_, name_, _p, respond_, resolve_, report_, route_, auto_, anonymous_ = row
            Category.objects.create(
                code=code_,
                name=name_,
                parent=created[code],
                respond_within=respond_,
                resolve_within=resolve_,
                report_within=report_,
                default_route=route_,
                auto_dispatch=auto_,
                allows_anonymous=anonymous_,
                tree_id=next_tree,
                lft=2 + 2 * position,
                rght=3 + 2 * position,
                level=1,
            )
        next_tree += 1


def delete_defaults(apps, schema_editor):
    """Remove the defaults again, children first. A category with tickets is protected
    and stops the reversal, as it should: its tickets would lose their category."""
    Category = apps.get_model("tickets", "Category")
    codes = [row[0] for row in DEFAULTS]
    Category.objects.filter(code__in=codes, level__gt=0).delete()
    Category.objects.filter(code__in=codes).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("tickets", "0001_tickets_categories_whistles"),
    ]

    operations = [
        migrations.RunPython(create_defaults, delete_defaults),
    ]
