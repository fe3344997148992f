"""Photos on tickets (随手拍): stored with the report (``ticket_open(photos=...)``) or
attached to an event of the timeline (a resolution, a department's reply).

The heavy work — decoding, checking, re-encoding without EXIF, writing the files — is
done before any row lock is taken, so a slow phone photo never holds up a ticket or the
day's number sequence. The rows are then created under the ticket's lock, where the
"at most five" rule is counted. Files written for a write that fails are deleted again.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass

from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.base import ContentFile
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from governance.errors import Conflict
from tickets import permissions, photos, states
from tickets.models import Ticket, TicketEvent, TicketPhoto
from tickets.services.steps import actor_or_system, lock_ticket


@dataclass(frozen=True)
class StoredPhoto:
    """A prepared photo whose files are already in the storage, waiting for its row."""

    prepared: photos.PreparedPhoto
    image_name: str
    thumbnail_name: str


def _storage_name(field_name: str, filename: str) -> str:
    field = TicketPhoto._meta.get_field(field_name)
    return field.generate_filename(None, filename)


def write_photo_files(prepared: Sequence[photos.PreparedPhoto]) -> list[StoredPhoto]:
    """Write each cleaned image and thumbnail under a random name (the uploaded name may
    carry a person's name and is never used)."""
    storage = TicketPhoto._meta.get_field("image").storage
    stored: list[StoredPhoto] = []
    try:
        for photo in prepared:
            stem = uuid.uuid4().hex
            image_name = storage.save(
                _storage_name("image", f"{stem}.jpg"), ContentFile(photo.image)
            )
            thumbnail_name = storage.save(
                _storage_name("thumbnail", f"{stem}-thumb.jpg"), ContentFile(photo.thumbnail)
            )
            stored.append(StoredPhoto(photo, image_name, thumbnail_name))
    except BaseException:
        delete_photo_files(stored)
        raise
    return stored


def delete_photo_files(stored: Iterable[StoredPhoto]) -> None:
    storage = TicketPhoto._meta.get_field("image").storage
    for photo in stored:
        for name in (photo.image_name, photo.thumbnail_name):
            storage.delete(name)


@contextmanager
def files_removed_on_error(stored: list[StoredPhoto]) -> Iterator[None]:
    """Delete the files again when the database write they belong to fails."""
    try:
        yield
    except BaseException:
        delete_photo_files(stored)
        raise


def create_photo_rows(
    ticket: Ticket, stored: Sequence[StoredPhoto], *, event: TicketEvent | None, actor
) -> list[TicketPhoto]:
    """The rows for files already written. The caller holds the ticket's row lock (or
    has just created the ticket) and has counted the photos already there."""
    now = timezone.now()
    return TicketPhoto.objects.bulk_create(
        [
            TicketPhoto(
                ticket=ticket,
                event=event,
                image=photo.image_name,
                thumbnail=photo.thumbnail_name,
                width=photo.prepared.width,
                height=photo.prepared.height,
                byte_size=len(photo.prepared.image),
                uploaded_by=actor_or_system(actor),
                created_at=now,
            )
            for photo in stored
        ]
    )


def _may_attach(actor, ticket: Ticket, event: TicketEvent | None) -> bool:
    """The report's photos: its reporter, whoever entered it, or staff. An event's photos:
    whoever wrote the event, or staff."""
    if permissions.is_staff(actor, ticket):
        return True
    if actor is None or not actor.is_authenticated:
        return False
    if event is None:
        return permissions.is_reporter(actor, ticket) or ticket.created_by_id == actor.pk
    return event.actor_id is not None and event.actor_id == actor.pk


@transaction.atomic
def ticket_attach_photos(
    *, actor, ticket: Ticket, event: TicketEvent | None, files: Iterable
) -> list[TicketPhoto]:
    """Add photos to the report (``event=None``) or to one event of the ticket's timeline,
    at most ``photos.MAX_PHOTOS`` on each, while the ticket is not finished.

    A page that resolves "with photos" calls the transition and then this inside one
    transaction, so a refused photo undoes the resolution too.
    """
    prepared = photos.prepare_photos(files)
    if not prepared:
        raise ValidationError({"photos": _("Choose at least one photo.")})
    stored = write_photo_files(prepared)
    with files_removed_on_error(stored):
        ticket = lock_ticket(ticket)
        if event is not None and event.ticket_id != ticket.pk:
            raise ValidationError({"event": _("This event is not on this ticket's timeline.")})
        if ticket.status in states.FINISHED:
            raise Conflict(
                _("This ticket is finished; no more photos can be added."), code="invalid_state"
            )
        if not _may_attach(actor, ticket, event):
            raise PermissionDenied(_("You may not add photos here."))
        already = TicketPhoto.objects.filter(ticket=ticket, event=event).count()
        photos.check_count(len(prepared), already=already)
        return create_photo_rows(ticket, stored, event=event, actor=actor)
