"""Households (一户一档), the people in them, and the care they are owed.

ID numbers never sit in clear in a row: see ``governance.pii``. Every change to a
household or a resident is kept by django-simple-history (who, when, what).
"""

from __future__ import annotations

import datetime

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from governance import pii
from residents.personal_data import mask_id_number, mask_phone

ELDERLY_AGE = 60


class KeyGroupTag(models.Model):
    """A key group (重点人群): the built-in ones and any staff add.

    ``visit_interval_days`` is the must-visit policy (四必访) for people carrying the tag:
    a household with such a person must be visited at least that often.
    """

    code = models.SlugField(_("code"), max_length=40, unique=True)
    name = models.CharField(_("name"), max_length=40)
    visit_interval_days = models.PositiveSmallIntegerField(
        _("must-visit interval (days)"), null=True, blank=True
    )
    is_builtin = models.BooleanField(_("built in"), default=False, editable=False)

    class Meta:
        verbose_name = _("key-group tag")
        verbose_name_plural = _("key-group tags")
        ordering = ["pk"]

    def __str__(self) -> str:
        return self.name


class Household(models.Model):
    grid = models.ForeignKey(
        "grids.Grid", verbose_name=_("grid"), on_delete=models.PROTECT, related_name="households"
    )
    building = models.CharField(_("building"), max_length=20, blank=True)
    unit = models.CharField(_("unit"), max_length=20, blank=True)
    room = models.CharField(_("room"), max_length=20, blank=True)
    address = models.CharField(
        _("address"), max_length=200, blank=True, help_text=_("Free address, e.g. in a village.")
    )
    head = models.ForeignKey(
        "Resident",
        verbose_name=_("head of household"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    phone = models.CharField(_("phone"), max_length=24, blank=True)
    notes = models.TextField(_("notes"), blank=True)
    is_party_lead = models.BooleanField(_("party-member lead household"), default=False)
    lead_household = models.ForeignKey(
        "self",
        verbose_name=_("looked after by lead household"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="linked_households",
        limit_choices_to={"is_party_lead": True},
    )
    # The must-visit duty, kept up to date by the services (so "due and overdue, oldest
    # first" is one indexed query, not a computation over every resident's tags).
    visit_interval_days = models.PositiveSmallIntegerField(null=True, blank=True, editable=False)
    last_visited_at = models.DateTimeField(_("last visited"), null=True, blank=True, editable=False)
    visit_due_on = models.DateField(_("visit due on"), null=True, blank=True, editable=False)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    history = HistoricalRecords(excluded_fields=["updated_at"])

    class Meta:
        verbose_name = _("household")
        verbose_name_plural = _("households")
        ordering = ["grid_id", "building", "unit", "room", "pk"]
        indexes = [
            models.Index(fields=["grid", "visit_due_on"], name="household_duty_idx"),
            models.Index(fields=["building", "unit", "room"], name="household_address_idx"),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["grid", "building", "unit", "room"],
                condition=~Q(room=""),
                name="household_one_per_room",
            ),
        ]

    def __str__(self) -> str:
        return self.display_address

    @property
    def display_address(self) -> str:
        parts = []
        if self.building:
            parts.append(_("Building %(n)s") % {"n": self.building})
        if self.unit:
            parts.append(_("Unit %(n)s") % {"n": self.unit})
        if self.room:
            parts.append(_("Room %(n)s") % {"n": self.room})
        if self.address:
            parts.append(self.address)
        return " ".join(str(p) for p in parts) or _("Household %(pk)s") % {"pk": self.pk}

    @property
    def masked_phone(self) -> str:
        return mask_phone(self.phone)


class Gender(models.TextChoices):
    MALE = "male", _("Male")
    FEMALE = "female", _("Female")


class Relation(models.TextChoices):
    HEAD = "head", _("Head of household")
    SPOUSE = "spouse", _("Spouse")
    CHILD = "child", _("Child")
    PARENT = "parent", _("Parent")
    GRANDCHILD = "grandchild", _("Grandchild")
    SIBLING = "sibling", _("Sibling")
    OTHER = "other", _("Other")


class LivingStatus(models.TextChoices):
    RESIDENT = "resident", _("Living here")
    MOVED_OUT = "moved_out", _("Moved out")
    DECEASED = "deceased", _("Deceased")


class Resident(models.Model):
    household = models.ForeignKey(
        Household, verbose_name=_("household"), on_delete=models.PROTECT, related_name="residents"
    )
    name = models.CharField(_("name"), max_length=40)
    gender = models.CharField(_("gender"), max_length=8, choices=Gender.choices)
    birth_date = models.DateField(_("birth date"))
    ethnicity = models.CharField(_("ethnicity"), max_length=20, blank=True)
    id_number_encrypted = models.TextField(editable=False, blank=True)
    id_number_hash = models.CharField(max_length=64, editable=False, blank=True)
    id_number_masked = models.CharField(_("ID number"), max_length=18, editable=False, blank=True)
    phone = models.CharField(_("phone"), max_length=24, blank=True)
    relation = models.CharField(
        _("relation to the head"), max_length=16, choices=Relation.choices, default=Relation.OTHER
    )
    living_status = models.CharField(
        _("living status"),
        max_length=16,
        choices=LivingStatus.choices,
        default=LivingStatus.RESIDENT,
    )
    tags = models.ManyToManyField(
        KeyGroupTag, verbose_name=_("key groups"), blank=True, related_name="residents"
    )
    notes = models.TextField(_("notes"), blank=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    history = HistoricalRecords(
        excluded_fields=["updated_at", "id_number_encrypted"], m2m_fields=[tags]
    )

    class Meta:
        verbose_name = _("resident")
        verbose_name_plural = _("residents")
        ordering = ["household_id", "pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["id_number_hash"],
                condition=~Q(id_number_hash=""),
                name="resident_unique_id_number",
            ),
        ]
        indexes = [models.Index(fields=["birth_date"], name="resident_birth_idx")]

    def __str__(self) -> str:
        return self.name

    def set_id_number(self, number: str) -> None:
        """Store a validated ID number: encrypted, hashed for lookup, masked for display."""
        self.id_number_encrypted = pii.encrypt(number) if number else ""
        self.id_number_hash = pii.lookup_hash(number) if number else ""
        self.id_number_masked = mask_id_number(number)

    def reveal_id_number(self) -> str:
        """The whole number. Callers must log the read: use ``services.resident_reveal``."""
        return pii.decrypt(self.id_number_encrypted) if self.id_number_encrypted else ""

    @property
    def masked_phone(self) -> str:
        return mask_phone(self.phone)

    def age(self, on: datetime.date | None = None) -> int:
        day = on or timezone.localdate()
        before_birthday = (day.month, day.day) < (self.birth_date.month, self.birth_date.day)
        return day.year - self.birth_date.year - before_birthday

    @property
    def is_elderly(self) -> bool:
        """60 and over, derived from the birth date (never typed)."""
        return self.age() >= ELDERLY_AGE


class PartyMemberStatus(models.TextChoices):
    IN_SERVICE = "in_service", _("In service")
    RETIRED = "retired", _("Retired")


class PartyMember(models.Model):
    """A party member: a resident of a household, or a staff user (or both)."""

    resident = models.OneToOneField(
        Resident,
        verbose_name=_("resident"),
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="party_membership",
    )
    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        verbose_name=_("user"),
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="party_membership",
    )
    organization = models.ForeignKey(
        "grids.PartyOrganization",
        verbose_name=_("party organization"),
        on_delete=models.PROTECT,
        related_name="members",
    )
    status = models.CharField(
        _("status"),
        max_length=16,
        choices=PartyMemberStatus.choices,
        default=PartyMemberStatus.IN_SERVICE,
    )
    employer = models.CharField(_("employer"), max_length=100, blank=True)
    joined_on = models.DateField(_("joined the party on"), null=True, blank=True)

    history = HistoricalRecords()

    class Meta:
        verbose_name = _("party member")
        verbose_name_plural = _("party members")
        constraints = [
            models.CheckConstraint(
                condition=Q(resident__isnull=False) | Q(user__isnull=False),
                name="party_member_is_someone",
            ),
        ]

    def __str__(self) -> str:
        return str(self.resident or self.user)


class UnitHeadship(models.Model):
    """A unit head (单元长, seed 004: 319 of them) and the building unit they head."""

    resident = models.ForeignKey(
        Resident,
        verbose_name=_("resident"),
        on_delete=models.CASCADE,
        related_name="unit_headships",
    )
    grid = models.ForeignKey(
        "grids.Grid", verbose_name=_("grid"), on_delete=models.PROTECT, related_name="unit_heads"
    )
    building = models.CharField(_("building"), max_length=20)
    unit = models.CharField(_("unit"), max_length=20)

    class Meta:
        verbose_name = _("unit head")
        verbose_name_plural = _("unit heads")
        constraints = [
            models.UniqueConstraint(
                fields=["grid", "building", "unit"], name="one_unit_head_per_unit"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.resident} · {self.building}-{self.unit}"


class PersonalDataAccess(models.Model):
    """One read of personal data in clear: who read whose what, when and from where."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("user"),
        on_delete=models.PROTECT,
        related_name="+",
    )
    resident = models.ForeignKey(
        Resident,
        verbose_name=_("resident"),
        on_delete=models.SET_NULL,
        null=True,
        related_name="+",
    )
    household = models.ForeignKey(
        Household,
        verbose_name=_("household"),
        on_delete=models.SET_NULL,
        null=True,
        related_name="+",
    )
    fields = models.CharField(_("fields"), max_length=100)
    ip_address = models.GenericIPAddressField(_("IP address"), null=True, blank=True)
    path = models.CharField(_("where from"), max_length=200, blank=True)
    accessed_at = models.DateTimeField(_("accessed at"), default=timezone.now, db_index=True)

    class Meta:
        verbose_name = _("personal data access")
        verbose_name_plural = _("personal data accesses")
        ordering = ["-accessed_at"]
        permissions = [("audit_personal_data", _("Can read the personal data access log"))]

    def __str__(self) -> str:
        return f"{self.user} → {self.resident or self.household} ({self.fields})"


class VisitKind(models.TextChoices):
    ROUTINE = "routine", _("Routine visit")
    MUST_VISIT = "must_visit", _("Must-visit")
    CAMPAIGN = "campaign", _("Door-to-door campaign")
    FOLLOW_UP = "follow_up", _("Follow-up")


class Visit(models.Model):
    """A grid worker at a household's door (入户走访): what they found, and a photo."""

    household = models.ForeignKey(
        Household, verbose_name=_("household"), on_delete=models.PROTECT, related_name="visits"
    )
    visitor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("visitor"),
        on_delete=models.PROTECT,
        related_name="visits",
    )
    visited_at = models.DateTimeField(_("visited at"), default=timezone.now)
    kind = models.CharField(
        _("kind"), max_length=16, choices=VisitKind.choices, default=VisitKind.ROUTINE
    )
    findings = models.TextField(_("what was found"), blank=True)
    answers = models.JSONField(_("checklist answers"), default=dict, blank=True)
    photo = models.ImageField(_("photo"), upload_to="visits/%Y/%m/", blank=True)
    follow_up_ticket = models.ForeignKey(
        "tickets.Ticket",
        verbose_name=_("follow-up ticket"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="visits",
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        verbose_name = _("visit")
        verbose_name_plural = _("visits")
        ordering = ["-visited_at", "-pk"]
        indexes = [models.Index(fields=["household", "-visited_at"], name="visit_household_idx")]

    def __str__(self) -> str:
        return f"{self.household} · {self.visited_at:%Y-%m-%d}"


class CampaignStatus(models.TextChoices):
    OPEN = "open", _("Open")
    CLOSED = "closed", _("Closed")


class Campaign(models.Model):
    """A door-to-door sweep (敲门行动, 一键激活) of every household in a subtree at once."""

    title = models.CharField(_("title"), max_length=100)
    grid = models.ForeignKey(
        "grids.Grid", verbose_name=_("grid"), on_delete=models.PROTECT, related_name="campaigns"
    )
    checklist = models.JSONField(
        _("checklist"),
        default=list,
        blank=True,
        help_text=_("The questions every visit answers, one per line."),
    )
    deadline = models.DateTimeField(_("deadline"))
    status = models.CharField(
        _("status"), max_length=8, choices=CampaignStatus.choices, default=CampaignStatus.OPEN
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("started by"),
        on_delete=models.PROTECT,
        related_name="+",
    )
    created_at = models.DateTimeField(_("started at"), auto_now_add=True)
    closed_at = models.DateTimeField(_("closed at"), null=True, blank=True)
    report = models.JSONField(_("closing report"), default=dict, blank=True)

    class Meta:
        verbose_name = _("campaign")
        verbose_name_plural = _("campaigns")
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["status", "deadline"], name="campaign_open_idx")]

    def __str__(self) -> str:
        return self.title


class CampaignTask(models.Model):
    """One household to knock on in one campaign; done once, by whoever gets there first."""

    campaign = models.ForeignKey(
        Campaign, verbose_name=_("campaign"), on_delete=models.CASCADE, related_name="tasks"
    )
    household = models.ForeignKey(
        Household,
        verbose_name=_("household"),
        on_delete=models.PROTECT,
        related_name="campaign_tasks",
    )
    grid = models.ForeignKey(
        "grids.Grid", verbose_name=_("grid"), on_delete=models.PROTECT, related_name="+"
    )
    visit = models.OneToOneField(
        Visit,
        verbose_name=_("visit"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="campaign_task",
    )
    done_at = models.DateTimeField(_("done at"), null=True, blank=True)

    class Meta:
        verbose_name = _("campaign task")
        verbose_name_plural = _("campaign tasks")
        ordering = ["grid_id", "household_id"]
        constraints = [
            models.UniqueConstraint(fields=["campaign", "household"], name="one_task_per_household")
        ]
        indexes = [
            models.Index(fields=["campaign", "grid", "done_at"], name="campaign_progress_idx")
        ]

    def __str__(self) -> str:
        return f"{self.campaign} · {self.household}"

    @property
    def is_done(self) -> bool:
        return self.done_at is not None


class ImportStatus(models.TextChoices):
    PENDING = "pending", _("Waiting")
    PLANNING = "planning", _("Checking")
    PLANNED = "planned", _("Checked: waiting for confirmation")
    APPLYING = "applying", _("Importing")
    APPLIED = "applied", _("Imported")
    FAILED = "failed", _("Failed")


class ImportJob(models.Model):
    """A spreadsheet of households and residents: checked first (dry run), then applied.

    Both steps run in the background and report progress here, row by row.
    """

    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("uploaded by"),
        on_delete=models.PROTECT,
        related_name="+",
    )
    file = models.FileField(_("file"), upload_to="imports/%Y/%m/")
    original_name = models.CharField(_("file name"), max_length=200)
    status = models.CharField(
        _("status"), max_length=16, choices=ImportStatus.choices, default=ImportStatus.PENDING
    )
    total_rows = models.PositiveIntegerField(_("rows"), default=0)
    processed_rows = models.PositiveIntegerField(_("rows processed"), default=0)
    counts = models.JSONField(_("counts"), default=dict, blank=True)
    report = models.JSONField(_("report"), default=list, blank=True)
    error = models.TextField(_("error"), blank=True)
    created_at = models.DateTimeField(_("uploaded at"), auto_now_add=True)
    finished_at = models.DateTimeField(_("finished at"), null=True, blank=True)

    class Meta:
        verbose_name = _("import")
        verbose_name_plural = _("imports")
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return self.original_name

    @property
    def is_running(self) -> bool:
        return self.status in (ImportStatus.PENDING, ImportStatus.PLANNING, ImportStatus.APPLYING)

    @property
    def percent(self) -> int:
        return int(100 * self.processed_rows / self.total_rows) if self.total_rows else 0
