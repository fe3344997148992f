"""Export of a subtree's archives to xlsx, in the import's own columns.

Personal fields are masked unless the user's role needs them whole on that household;
whole values are written to the access log, one row per resident, like any other read.
"""

from __future__ import annotations

import io

from django.db.models import QuerySet
from openpyxl import Workbook

from residents import permissions
from residents.importing import EXPORT_HEADERS
from residents.models import PersonalDataAccess, Resident

GENDER_LABELS = {"male": "男", "female": "女"}
RELATION_LABELS = {
    "head": "户主",
    "spouse": "配偶",
    "child": "子女",
    "parent": "父母",
    "grandchild": "孙子女",
    "sibling": "兄弟姐妹",
    "other": "其他",
}
LIVING_LABELS = {"resident": "在住", "moved_out": "迁出", "deceased": "死亡"}


def export_residents_xlsx(
    *, user, residents: QuerySet[Resident], ip_address: str | None = None, path: str = ""
) -> bytes:
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet("居民档案")
    sheet.append(EXPORT_HEADERS)
    rights: dict[int, list[str]] = {}
    accesses = []
    rows = (
        residents.select_related("household__grid")
        .prefetch_related("tags")
        .order_by("household__grid__tree_id", "household__grid__lft", "household_id", "pk")
    )
    for resident in rows.iterator(chunk_size=2000):
        household = resident.household
        fields = rights.setdefault(
            household.grid_id, permissions.revealable_fields(user, household.grid)
        )
        whole_id = "id_number" in fields
        whole_phone = "phone" in fields
        sheet.append(
            [
                household.grid.code,
                household.building,
                household.unit,
                household.room,
                household.address,
                household.phone if whole_phone else household.masked_phone,
                resident.name,
                resident.reveal_id_number() if whole_id else resident.id_number_masked,
                GENDER_LABELS.get(resident.gender, resident.gender),
                resident.birth_date.isoformat(),
                resident.ethnicity,
                resident.phone if whole_phone else resident.masked_phone,
                RELATION_LABELS.get(resident.relation, resident.relation),
                LIVING_LABELS.get(resident.living_status, resident.living_status),
                "、".join(t.name for t in resident.tags.all()),
            ]
        )
        if fields:
            accesses.append(
                PersonalDataAccess(
                    user=user,
                    resident=resident,
                    household=household,
                    fields=",".join(sorted(fields)),
                    ip_address=ip_address,
                    path=path[:200],
                )
            )
    PersonalDataAccess.objects.bulk_create(accesses, batch_size=1000)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()
