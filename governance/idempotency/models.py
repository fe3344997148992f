"""The answers already given to requests that carried an idempotency key.

A client (the 12345 gateway, a civic app, the phone's offline queue) that is not sure its
request arrived sends it again with the same key; the server answers from here instead of
acting twice. See ``governance.idempotency.middleware``.
"""

from __future__ import annotations

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class IdempotencyRecord(models.Model):
    # Who sent it: a digest of the credential (token, session user or "anonymous"), so two
    # clients choosing the same key never see each other's answers.
    owner = models.CharField(_("owner"), max_length=64)
    key = models.CharField(_("key"), max_length=255)
    # Method, path and a digest of the body: the same key with another request is refused.
    fingerprint = models.CharField(_("fingerprint"), max_length=64)
    method = models.CharField(_("method"), max_length=8)
    path = models.CharField(_("path"), max_length=500)
    status_code = models.PositiveSmallIntegerField(_("status code"), null=True)
    content_type = models.CharField(_("content type"), max_length=100, blank=True)
    location = models.CharField(_("location"), max_length=500, blank=True)
    body = models.BinaryField(_("body"), default=b"")
    created_at = models.DateTimeField(_("created at"), default=timezone.now, db_index=True)

    class Meta:
        verbose_name = _("idempotency record")
        verbose_name_plural = _("idempotency records")
        constraints = [
            models.UniqueConstraint(fields=["owner", "key"], name="idempotency_owner_key_unique")
        ]

    def __str__(self) -> str:
        return f"{self.method} {self.path} [{self.key}]"
