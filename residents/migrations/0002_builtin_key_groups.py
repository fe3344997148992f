"""The built-in key groups (重点人群) with their must-visit intervals (四必访).

Intervals follow the seeds' practice: those living alone are checked weekly, the other
vulnerable groups at least monthly; veterans and left-behind children quarterly unless
staff shorten it. Staff can change intervals and add groups in the admin.
"""

from django.db import migrations

BUILTIN = [
    ("elderly_alone", "独居老人", 7),
    ("empty_nest", "空巢老人", 14),
    ("disabled", "残疾人", 30),
    ("dibao", "低保", 30),
    ("wubao", "五保", 14),
    ("hardship", "困难家庭", 30),
    ("left_behind_child", "留守儿童", 30),
    ("special_group", "特殊人群", 14),
    ("veteran", "退役军人", 90),
]


def create(apps, schema_editor):
    KeyGroupTag = apps.get_model("residents", "KeyGroupTag")
    for code, name, days in BUILTIN:
        KeyGroupTag.objects.update_or_create(
            code=code, defaults={"name": name, "visit_interval_days": days, "is_builtin": True}
        )


def remove(apps, schema_editor):
    KeyGroupTag = apps.get_model("residents", "KeyGroupTag")
    KeyGroupTag.objects.filter(code__in=[c for c, _n, _d in BUILTIN], residents=None).delete()


class Migration(migrations.Migration):
    dependencies = [("residents", "0001_initial")]
    operations = [migrations.RunPython(create, remove)]
