"""Spreadsheet import of households and residents: a dry run, then one transaction.

One row is one resident; the household is found (or created) by grid code plus
building/unit/room, or plus a free address in a village. The ID number is the key: a
re-import of the same file changes nothing, and an updated file updates residents by
ID number. Rows are checked together before anything is written, so the dry run and
the real run give the same verdict; a refused row never stops the good ones.

Written for volume (10,000 rows well under a minute): lookups are made once per file,
not once per row, and the writes are bulk inserts and updates that still record history.
"""

from __future__ import annotations

import codecs
import csv
import datetime
import io
import zipfile
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _
from simple_history.utils import bulk_create_with_history, bulk_update_with_history

from governance import pii
from grids import scoping
from grids.models import Grid
from residents import permissions
from residents.models import (
    Gender,
    Household,
    KeyGroupTag,
    LivingStatus,
    Relation,
    Resident,
)
from residents.personal_data import (
    mask_id_number,
    normalize_id_number,
    parse_id_number,
    validate_phone,
)
from residents.services import HOUSEHOLD_LEVELS, households_refresh_duties

Progress = Callable[[int, int], None]

# canonical name → headers accepted (the Chinese ones are what the export writes)
COLUMNS: dict[str, tuple[str, ...]] = {
    "grid_code": ("网格编码", "grid_code", "grid"),
    "building": ("楼栋", "building"),
    "unit": ("单元", "unit"),
    "room": ("房号", "room"),
    "address": ("地址", "address"),
    "household_phone": ("户电话", "household_phone"),
    "name": ("姓名", "name"),
    "id_number": ("身份证号", "id_number"),
    "gender": ("性别", "gender"),
    "birth_date": ("出生日期", "birth_date"),
    "ethnicity": ("民族", "ethnicity"),
    "phone": ("电话", "phone"),
    "relation": ("与户主关系", "relation"),
    "living_status": ("居住状态", "living_status"),
    "tags": ("重点人群", "tags"),
}
EXPORT_HEADERS = [names[0] for names in COLUMNS.values()]
GENDERS = {"男": Gender.MALE, "女": Gender.FEMALE, **{g: g for g in Gender.values}}
RELATIONS = {
    "户主": Relation.HEAD,
    "配偶": Relation.SPOUSE,
    "子女": Relation.CHILD,
    "父母": Relation.PARENT,
    "孙子女": Relation.GRANDCHILD,
    "兄弟姐妹": Relation.SIBLING,
    "其他": Relation.OTHER,
    **{r: r for r in Relation.values},
}
LIVING = {
    "在住": LivingStatus.RESIDENT,
    "迁出": LivingStatus.MOVED_OUT,
    "死亡": LivingStatus.DECEASED,
    **{s: s for s in LivingStatus.values},
}
MAX_ROWS = 50_000
# An .xlsx is a zip archive. 50,000 rows unpack to a few tens of MB; a "zip bomb" that
# unpacks to gigabytes would exhaust the memory of the worker that reads it.
MAX_UNPACKED_BYTES = 200 * 1024 * 1024
CSV_SNIFF_BYTES = 64 * 1024
COMPARED = ("name", "gender", "birth_date", "ethnicity", "phone", "relation", "living_status")


class ImportFileError(Exception):
    """The file as a whole cannot be read (wrong type, no header, too many rows)."""


# --- reading --------------------------------------------------------------------------------


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime.datetime):
        return value.date().isoformat()
    if isinstance(value, datetime.date):
        return value.isoformat()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


def check_upload(upload) -> None:
    """Judge an uploaded spreadsheet by its content before it is stored, so that a file
    that is not one (a PDF named .xlsx, a web page named .csv, a zip bomb) is refused on
    the upload form rather than stored and failed later by the dry run. Cheap: the zip's
    directory of an .xlsx, the first 64 KB of a .csv. Raises ``ImportFileError``."""
    name = (upload.name or "").lower()
    upload.seek(0)
    try:
        if name.endswith(".xlsx"):
            _check_workbook(upload)
        elif name.endswith(".csv"):
            _check_csv_start(upload.read(CSV_SNIFF_BYTES))
        else:
            raise ImportFileError(_("Upload an .xlsx or .csv file."))
    finally:
        upload.seek(0)


def _check_workbook(file) -> None:
    try:
        with zipfile.ZipFile(file) as archive:
            members = archive.infolist()
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, ValueError) as exc:
        raise ImportFileError(_("The file is not a readable .xlsx workbook.")) from exc
    if "xl/workbook.xml" not in {member.filename for member in members}:
        raise ImportFileError(_("The file is not a readable .xlsx workbook."))
    # zipfile stops at the declared sizes (and fails the CRC past them): these bound reading
    if sum(member.file_size for member in members) > MAX_UNPACKED_BYTES:
        raise ImportFileError(
            _("The workbook unpacks to more than %(mb)d MB; split it into smaller files.")
            % {"mb": MAX_UNPACKED_BYTES // (1024 * 1024)}
        )


def _check_csv_start(start: bytes) -> None:
    """Text in one of the accepted encodings, no NUL byte (binary files have them), and a
    first line that names the required columns."""
    if b"\0" in start:
        raise ImportFileError(_("The CSV file is neither UTF-8 nor GB18030 text."))
    for encoding in ("utf-8-sig", "gb18030"):
        try:  # incremental: the 64 KB may end inside a character
            text = codecs.getincrementaldecoder(encoding)().decode(start, final=False)
            break
        except UnicodeDecodeError:
            continue
    else:
        raise ImportFileError(_("The CSV file is neither UTF-8 nor GB18030 text."))
    header = next(csv.reader(io.StringIO(text.split("\n", 1)[0])), [])
    _check_header(_header_keys(header))


def _header_keys(header: list) -> list[str | None]:
    lookup = {alias.lower(): key for key, aliases in COLUMNS.items() for alias in aliases}
    return [lookup.get(_cell(h).lower()) for h in header]


def _check_header(keys: list[str | None]) -> None:
    if "name" not in keys or "grid_code" not in keys or "id_number" not in keys:
        raise ImportFileError(
            _("The first row must name the columns; 网格编码, 姓名 and 身份证号 are required.")
        )


def read_table(data: bytes, filename: str) -> list[dict[str, str]]:
    """Rows of an .xlsx or .csv file as dicts keyed by canonical column names."""
    name = filename.lower()
    if name.endswith(".xlsx"):
        table = _read_xlsx(data)
    elif name.endswith(".csv"):
        table = _read_csv(data)
    else:
        raise ImportFileError(_("Upload an .xlsx or .csv file."))
    if not table:
        raise ImportFileError(_("The file is empty."))
    header, *body = table
    keys = _header_keys(header)
    _check_header(keys)
    if len(body) > MAX_ROWS:
        raise ImportFileError(_("At most %(n)d rows per file.") % {"n": MAX_ROWS})
    rows = []
    for raw in body:
        cells = [_cell(v) for v in raw]
        if not any(cells):
            rows.append(None)
            continue
        rows.append({k: cells[i] if i < len(cells) else "" for i, k in enumerate(keys) if k})
    return rows


def _read_csv(data: bytes) -> list[list[str]]:
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            text = data.decode(encoding)
            break
        except UnicodeDecodeError:
            continue
    else:
        raise ImportFileError(_("The CSV file is neither UTF-8 nor GB18030 text."))
    return list(csv.reader(io.StringIO(text)))


def _read_xlsx(data: bytes) -> list[list[Any]]:
    from openpyxl import load_workbook

    _check_workbook(io.BytesIO(data))  # files stored before the upload form checked them
    try:
        workbook = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many kinds for a broken file
        raise ImportFileError(_("The file is not a readable .xlsx workbook.")) from exc
    try:
        return [list(row) for row in workbook.worksheets[0].iter_rows(values_only=True)]
    finally:
        workbook.close()


# --- planning -------------------------------------------------------------------------------


@dataclass
class RowPlan:
    line: int
    action: str  # create / update / unchanged / refused
    reason: str = ""
    name: str = ""
    id_masked: str = ""
    values: dict[str, Any] = field(default_factory=dict)
    tags: list[int] = field(default_factory=list)
    household_key: tuple | None = None
    resident: Resident | None = None

    def as_report(self) -> dict[str, Any]:
        return {
            "line": self.line,
            "action": self.action,
            "reason": self.reason,
            "name": self.name,
            "id_number": self.id_masked,
        }


@dataclass
class Plan:
    rows: list[RowPlan]
    new_households: dict[tuple, dict[str, Any]]
    households: dict[tuple, Household]
    user: Any = None

    def counts(self) -> dict[str, int]:
        counts = {"create": 0, "update": 0, "unchanged": 0, "refused": 0}
        for row in self.rows:
            counts[row.action] += 1
        counts["households_created"] = len(self.new_households)
        return counts

    def report(self) -> list[dict[str, Any]]:
        return [r.as_report() for r in self.rows]


def _household_key(grid: Grid, row: dict[str, str]) -> tuple:
    if row.get("room"):
        return (grid.pk, row.get("building", ""), row.get("unit", ""), row["room"], "")
    return (grid.pk, "", "", "", row.get("address", ""))


def _parse_row(row: dict[str, str], tags_by_name: dict[str, KeyGroupTag]) -> tuple[dict, list]:
    """Validate one row's own fields; raises ValidationError with a readable message."""
    card = parse_id_number(row.get("id_number", ""))
    name = row.get("name", "").strip()
    if not name:
        raise ValidationError(_("The name is empty."))
    values: dict[str, Any] = {"name": name[:40], "ethnicity": row.get("ethnicity", "")[:20]}
    gender = row.get("gender", "")
    values["gender"] = GENDERS.get(gender) if gender else card.gender
    if values["gender"] is None:
        raise ValidationError(_("Unknown gender %(v)s.") % {"v": gender})
    if values["gender"] != card.gender:
        raise ValidationError(_("The gender does not match the one in the ID number."))
    birth = row.get("birth_date", "")
    try:
        values["birth_date"] = datetime.date.fromisoformat(birth) if birth else card.birth_date
    except ValueError as exc:
        raise ValidationError(_("The birth date %(v)s is not a date.") % {"v": birth}) from exc
    if values["birth_date"] != card.birth_date:
        raise ValidationError(_("The birth date does not match the one in the ID number."))
    values["phone"] = validate_phone(row["phone"]) if row.get("phone") else ""
    relation = row.get("relation", "")
    values["relation"] = RELATIONS.get(relation) if relation else Relation.OTHER
    if values["relation"] is None:
        raise ValidationError(_("Unknown relation %(v)s.") % {"v": relation})
    living = row.get("living_status", "")
    values["living_status"] = LIVING.get(living) if living else LivingStatus.RESIDENT
    if values["living_status"] is None:
        raise ValidationError(_("Unknown living status %(v)s.") % {"v": living})
    tag_ids = []
    for tag_name in filter(
        None,
        (t.strip() for t in row.get("tags", "").replace("、", ",").replace("，", ",").split(",")),
    ):
        tag = tags_by_name.get(tag_name)
        if tag is None:
            raise ValidationError(_("Unknown key group %(v)s.") % {"v": tag_name})
        tag_ids.append(tag.pk)
    values["id_number"] = card.number
    return values, sorted(set(tag_ids))


def _unchanged(resident: Resident, values: dict[str, Any], tags: list[int], household_pk) -> bool:
    same_fields = all(getattr(resident, f) == values[f] for f in COMPARED)
    same_tags = sorted(t.pk for t in resident.tags.all()) == tags
    return same_fields and same_tags and resident.household_id == household_pk


def plan_import(
    rows: list[dict[str, str] | None], *, user, progress: Progress | None = None
) -> Plan:
    """Decide, without writing anything, what each row would do and why."""
    codes = {r["grid_code"] for r in rows if r and r.get("grid_code")}
    grids = {
        g.code: g
        for g in scoping.filter_visible(Grid.objects.filter(code__in=codes), user)
        if permissions.can_edit_archive(user, g)
    }
    tags_by_name = {t.name: t for t in KeyGroupTag.objects.all()}
    tags_by_name.update({t.code: t for t in tags_by_name.values()})
    hashes = {}
    for r in rows:
        if r and r.get("id_number"):
            hashes[pii.lookup_hash(normalize_id_number(r["id_number"]))] = None
    existing = {}
    digests = list(hashes)
    for start in range(0, len(digests), 5000):  # stay under SQLite's parameter limit
        for res in (
            Resident.objects.filter(id_number_hash__in=digests[start : start + 5000])
            .select_related("household__grid")
            .prefetch_related("tags")
        ):
            existing[res.id_number_hash] = res
    households = {
        (h.grid_id, h.building, h.unit, h.room, "" if h.room else h.address): h
        for h in Household.objects.filter(grid__in=grids.values())
    }
    new_households: dict[tuple, dict[str, Any]] = {}
    seen: set[str] = set()
    plans: list[RowPlan] = []
    for index, row in enumerate(rows, start=2):  # line 1 is the header
        if progress and index % 500 == 0:
            progress(index - 1, len(rows))
        if row is None:
            continue
        plans.append(
            _plan_row(
                index, row, grids, tags_by_name, existing, households, new_households, seen, user
            )
        )
    if progress:
        progress(len(rows), len(rows))
    return Plan(rows=plans, new_households=new_households, households=households, user=user)


def _plan_row(line, row, grids, tags_by_name, existing, households, new_households, seen, user):
    plan = RowPlan(line=line, action="refused", name=row.get("name", "")[:40])
    grid = grids.get(row.get("grid_code", ""))
    try:
        values, tags = _parse_row(row, tags_by_name)
    except ValidationError as exc:
        plan.reason = exc.messages[0]
        return plan
    plan.id_masked = mask_id_number(values["id_number"])
    digest = pii.lookup_hash(values["id_number"])
    if digest in seen:
        plan.reason = _("The same ID number appears earlier in this file.")
        return plan
    seen.add(digest)
    if grid is None:
        plan.reason = _("Unknown grid code %(v)s (or not yours to edit).") % {
            "v": row.get("grid_code", "")
        }
        return plan
    if grid.level not in HOUSEHOLD_LEVELS or not grid.is_active:
        plan.reason = _("Grid %(v)s does not hold households.") % {"v": grid.code}
        return plan
    if not (row.get("room") or row.get("address")):
        plan.reason = _("Give a room number or an address.")
        return plan
    key = _household_key(grid, row)
    household = households.get(key)
    if household is None and key not in new_households:
        phone = row.get("household_phone", "")
        try:
            phone = validate_phone(phone) if phone else ""
        except ValidationError as exc:
            plan.reason = exc.messages[0]
            return plan
        new_households[key] = {"grid": grid, "phone": phone}
    resident = existing.get(digest)
    if resident is not None and not permissions.can_edit_archive(user, resident.household.grid):
        plan.reason = _("A resident with this ID number is already registered elsewhere.")
        return plan
    plan.values, plan.tags, plan.household_key, plan.resident = values, tags, key, resident
    if resident is None:
        plan.action = "create"
    elif household is not None and _unchanged(resident, values, tags, household.pk):
        plan.action = "unchanged"
    else:
        plan.action = "update"
    return plan


# --- applying -------------------------------------------------------------------------------


def _create_households(plan: Plan) -> None:
    created = []
    for (_grid, building, unit, room, address), data in plan.new_households.items():
        created.append(
            Household(
                grid=data["grid"],
                building=building,
                unit=unit,
                room=room,
                address=address,
                phone=data["phone"],
            )
        )
    for household in bulk_create_with_history(
        created, Household, batch_size=500, default_user=plan.user
    ):
        key = (
            household.grid_id,
            household.building,
            household.unit,
            household.room,
            "" if household.room else household.address,
        )
        plan.households[key] = household


def _resident_from(row: RowPlan, household: Household) -> Resident:
    values = dict(row.values)
    number = values.pop("id_number")
    resident = row.resident or Resident()
    for name, value in values.items():
        setattr(resident, name, value)
    resident.household = household
    if row.resident is None:
        resident.set_id_number(number)
    return resident


def _set_tags(residents_and_tags: Iterable[tuple[Resident, list[int]]]) -> None:
    through = Resident.tags.through
    pairs = list(residents_and_tags)
    through.objects.filter(resident_id__in=[r.pk for r, _t in pairs]).delete()
    through.objects.bulk_create(
        [through(resident_id=r.pk, keygrouptag_id=t) for r, tags in pairs for t in tags],
        batch_size=1000,
    )


@transaction.atomic
def apply_import(
    rows: list[dict[str, str] | None], *, user, progress: Progress | None = None
) -> Plan:
    """Check the rows again (the data may have moved since the dry run) and apply the
    good ones in one transaction; refused rows are reported, never written."""
    plan = plan_import(rows, user=user)
    _create_households(plan)
    to_create, to_update = [], []
    for row in plan.rows:
        if row.action not in ("create", "update"):
            continue
        resident = _resident_from(row, plan.households[row.household_key])
        (to_create if row.resident is None else to_update).append((resident, row.tags))
    if progress:
        progress(0, len(to_create) + len(to_update))
    bulk_create_with_history(
        [r for r, _t in to_create], Resident, batch_size=500, default_user=user
    )
    if to_update:
        bulk_update_with_history(
            [r for r, _t in to_update],
            Resident,
            [*COMPARED, "household"],
            batch_size=500,
            default_user=user,
        )
    _set_tags(to_create + to_update)
    households_refresh_duties({r.household_id for r, _t in to_create + to_update})
    if progress:
        progress(len(to_create) + len(to_update), len(to_create) + len(to_update))
    return plan
