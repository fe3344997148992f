"""Seed 001's four kinds of volunteer team (吉公社区: 党员先锋、巾帼、文艺演出、应急救援).

Names are data, in Chinese, as the communities use them; staff add kinds of their own.
"""

from django.db import migrations

BUILTIN = [
    ("party_vanguard", "党员先锋"),
    ("womens", "巾帼"),
    ("arts", "文艺演出"),
    ("emergency_rescue", "应急救援"),
]


def create(apps, schema_editor):
    TeamKind = apps.get_model("volunteers", "TeamKind")
    for code, name in BUILTIN:
        TeamKind.objects.update_or_create(code=code, defaults={"name": name, "is_builtin": True})


def remove(apps, schema_editor):
    TeamKind = apps.get_model("volunteers", "TeamKind")
    TeamKind.objects.filter(code__in=[code for code, _name in BUILTIN], teams=None).delete()


class Migration(migrations.Migration):
    dependencies = [("volunteers", "0002_ledger_append_only")]
    operations = [migrations.RunPython(create, remove)]
