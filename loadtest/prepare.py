"""Write the load test's scenario: who the simulated people are (API tokens of the demo's
accounts, plus residents made for the run), where they report and in which categories.

Runs inside the application against the load database (``DATABASE_URL``), after
``seed_demo``:

    python loadtest/prepare.py SCENARIO.json [--residents-per-place 20]

Tokens are made here once, so no simulated request pays for a password hash: the load
measures the platform, not PBKDF2.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
PLACES = ("dele", "jigong", "xiangning", "baijiantan", "wenyuan")
# Categories the simulated residents report in: dispatched by hand, or routed by
# themselves to the grid's worker or to the claim board (not deliberation or departments,
# whose next steps need a meeting or a department's liaison).
CATEGORY_CODES = (
    "dispute",
    "livelihood",
    "environment",
    "facility_repair",
    "safety_hazard",
    "elderly_help",
)


def _identity(user) -> dict:
    from rest_framework.authtoken.models import Token

    token, _created = Token.objects.get_or_create(user=user)
    return {"id": user.pk, "username": user.username, "token": token.key}


def _assigned_grid(user):
    from grids.models import GridAssignment

    return GridAssignment.objects.current().filter(user=user).select_related("grid").get().grid


def _place(key: str, residents_per_place: int) -> dict:
    from django.contrib.auth import get_user_model

    users = get_user_model().objects
    staff = users.get(username=f"{key}_staff")
    worker = users.get(username=f"{key}_worker")
    district = users.get(username=f"{key}_district")
    helpers = [
        users.get(username=f"{key}_{suffix}")
        for suffix in ("worker", "unithead")
        if users.filter(username=f"{key}_{suffix}").exists()
    ]
    residents = []
    for number in range(residents_per_place):
        resident, _created = users.get_or_create(
            username=f"load_{key}_resident{number:02d}",
            defaults={"full_name": f"压测居民{number:02d}", "is_staff": False},
        )
        if resident.has_usable_password():
            resident.set_unusable_password()
            resident.save(update_fields=["password"])
        residents.append(_identity(resident))
    county = _assigned_grid(district)
    return {
        "key": key,
        "county": county.pk,
        "community": _assigned_grid(staff).pk,
        # reports land on the worker's grid: the staff may give them to the worker, and
        # the worker and the unit head may take them from the claim board
        "report_grid": _assigned_grid(worker).pk,
        "staff": _identity(staff),
        "worker": _identity(worker),
        "helpers": [_identity(user) for user in helpers],
        "district": _identity(district),
        "residents": residents,
    }


def scenario(residents_per_place: int) -> dict:
    from tickets.models import Category

    categories = list(
        Category.objects.filter(code__in=CATEGORY_CODES, is_active=True).values_list(
            "pk", flat=True
        )
    )
    return {
        "categories": categories,
        "places": [_place(key, residents_per_place) for key in PLACES],
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("output", type=Path)
    parser.add_argument("--residents-per-place", type=int, default=20)
    options = parser.parse_args(argv)
    sys.path.insert(0, str(BASE_DIR))
    import django

    django.setup()
    data = scenario(options.residents_per_place)
    options.output.write_text(json.dumps(data, ensure_ascii=False, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
