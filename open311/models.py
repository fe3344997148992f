"""Open311 GeoReport v2 (``/open311/v2/``): what a civic app needs beside the tickets.

A GeoReport *service* is one of our ticket categories, so the catalogue is kept in one
place (``tickets.Category``). This app adds only what the standard asks for and the
tickets do not have: a public description and keywords per service, the questions a
service asks (``ServiceAttribute``), and what a civic app sent with a request that a
ticket has no field for (``Open311Request``: the citizen's email, device, account,
media link and answers, plus the token of the ``tokens`` endpoint).
"""

from __future__ import annotations

import secrets

from django.core.exceptions import ValidationError
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from tickets.models import Category, Ticket


def new_token() -> str:
    """An unguessable token: it reveals the request's number to whoever holds it."""
    return secrets.token_hex(16)


class Service(Category):
    """A ticket category seen as a GeoReport service: the admin page where its public
    description and its questions are kept (the category itself is edited in the
    tickets admin, through the category services)."""

    class Meta:
        proxy = True
        verbose_name = _("Open311 service")
        verbose_name_plural = _("Open311 services")


class ServiceInfo(models.Model):
    """What ``services.{format}`` tells citizens about a category beyond its name."""

    category = models.OneToOneField(
        Category,
        verbose_name=_("category"),
        on_delete=models.CASCADE,
        related_name="open311_info",
    )
    description = models.TextField(
        _("public description"),
        blank=True,
        help_text=_("A sentence for citizens on what this service is for."),
    )
    keywords = models.CharField(
        _("keywords"),
        max_length=200,
        blank=True,
        help_text=_("Comma-separated words a civic app may search by."),
    )

    class Meta:
        verbose_name = _("Open311 description")
        verbose_name_plural = _("Open311 descriptions")

    def __str__(self) -> str:
        return str(self.category)


class Datatype(models.TextChoices):
    """The datatypes of GeoReport v2, spelled as the standard spells them."""

    STRING = "string", _("Short text")
    NUMBER = "number", _("Number")
    DATETIME = "datetime", _("Date and time")
    TEXT = "text", _("Long text")
    SINGLE_VALUE_LIST = "singlevaluelist", _("One value from a list")
    MULTI_VALUE_LIST = "multivaluelist", _("Values from a list")


LIST_DATATYPES = frozenset({Datatype.SINGLE_VALUE_LIST, Datatype.MULTI_VALUE_LIST})


class ServiceAttribute(models.Model):
    """A question a service asks when a request is posted (GeoReport "attribute"), e.g.
    "Is anyone in danger?" for fires. ``values`` holds the choices of a list datatype as
    ``[{"key": "...", "name": "..."}]``; the rules are ``services.attribute_errors``."""

    category = models.ForeignKey(
        Category,
        verbose_name=_("category"),
        on_delete=models.CASCADE,
        related_name="open311_attributes",
    )
    code = models.SlugField(
        _("code"),
        max_length=64,
        help_text=_("Unique within the service; clients send the answer as attribute[code]."),
    )
    variable = models.BooleanField(
        _("asks for an answer"),
        default=True,
        help_text=_("Off: the attribute only informs the citizen and takes no answer."),
    )
    datatype = models.CharField(_("datatype"), max_length=16, choices=Datatype.choices)
    required = models.BooleanField(_("required"), default=False)
    datatype_description = models.CharField(
        _("datatype description"),
        max_length=200,
        blank=True,
        help_text=_("How to write the answer, e.g. a format."),
    )
    order = models.PositiveIntegerField(_("order"), default=1)
    description = models.TextField(_("question"))
    values = models.JSONField(
        _("values"),
        default=list,
        blank=True,
        help_text=_('For list datatypes: [{"key": "1", "name": "Yes"}, …]'),
    )

    class Meta:
        verbose_name = _("Open311 attribute")
        verbose_name_plural = _("Open311 attributes")
        ordering = ["category", "order", "pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["category", "code"], name="open311_attribute_code_unique_per_category"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.category} · {self.code}"

    def clean(self) -> None:
        # imported here: the rules import this module
        from open311.attributes import attribute_errors

        errors = attribute_errors(self)
        if errors:
            raise ValidationError(errors)

    @property
    def keys(self) -> list[str]:
        return [str(value.get("key")) for value in self.values or [] if isinstance(value, dict)]


class Open311Request(models.Model):
    """What a civic app sent with a request beyond the ticket's own fields. The ticket is
    an ordinary ticket of channel ``open311``; this row keeps the rest, and its token
    answers ``tokens/{token}``. Personal data (email, names, device and account ids) is
    kept for the handlers and never published by the GeoReport reads."""

    ticket = models.OneToOneField(
        Ticket, verbose_name=_("ticket"), on_delete=models.PROTECT, related_name="open311"
    )
    token = models.CharField(
        _("token"), max_length=64, unique=True, default=new_token, editable=False
    )
    email = models.EmailField(_("email"), blank=True)
    device_id = models.CharField(_("device id"), max_length=100, blank=True)
    account_id = models.CharField(_("account id"), max_length=100, blank=True)
    first_name = models.CharField(_("first name"), max_length=30, blank=True)
    last_name = models.CharField(_("last name"), max_length=30, blank=True)
    media_url = models.URLField(_("media URL"), max_length=1000, blank=True)
    address_id = models.CharField(
        _("address id"),
        max_length=32,
        blank=True,
        help_text=_("The grid code the client gave as address_id."),
    )
    attributes = models.JSONField(
        _("answers"), default=dict, blank=True, help_text=_("Answers to the service's questions.")
    )
    created_at = models.DateTimeField(_("created at"), default=timezone.now, editable=False)

    class Meta:
        verbose_name = _("Open311 request")
        verbose_name_plural = _("Open311 requests")
        ordering = ["-created_at", "-pk"]

    def __str__(self) -> str:
        return str(self.ticket)
