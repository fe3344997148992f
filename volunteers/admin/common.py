"""Pieces the volunteers admin modules share."""

from __future__ import annotations

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.forms import Form

from governance.errors import Conflict
from grids import scoping


def show_errors(form: Form, exc: ValidationError) -> None:
    """A service's field errors on the admin form; others on top of it."""
    if not hasattr(exc, "error_dict"):
        form.add_error(None, exc.messages)
        return
    for field, errors in exc.message_dict.items():
        form.add_error(field if field in form.fields else None, errors)


def runs_grids(request) -> bool:
    """Superusers and whoever may change some grid (community staff, grid leaders)."""
    scope = scoping.scope_for(request.user)
    return request.user.is_active and (scope.is_global or bool(scope.change))


def sees_grids(request) -> bool:
    return (
        request.user.is_active
        and request.user.is_staff
        and not scoping.scope_for(request.user).is_empty
    )


def run_each(modeladmin, request, objects, write, done_message) -> None:
    """Apply a service to each selected object; report successes and refusals."""
    done = 0
    for obj in objects:
        try:
            write(obj)
        except (Conflict, ValidationError, PermissionDenied) as exc:
            text = (
                exc.message
                if isinstance(exc, Conflict)
                else " ".join(getattr(exc, "messages", [str(exc)]))
            )
            modeladmin.message_user(request, f"{obj}: {text}", messages.ERROR)
        else:
            done += 1
    if done:
        modeladmin.message_user(request, done_message % {"n": done}, messages.SUCCESS)


class ReadOnlyInline(admin.TabularInline):
    """Rows shown with their parent to whoever sees it (the grid scope, not Django's model
    permissions), never edited there."""

    extra = 0
    can_delete = False

    def has_view_permission(self, request, obj=None) -> bool:
        return sees_grids(request)

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


class _DryRun(Exception):
    """Raised to roll back a service run that only checked the form."""


class ServiceAdminMixin:
    """Admin writes through one service, with its refusals shown on the form.

    ``service_save(request, form, obj, change)`` calls the service from
    ``form.cleaned_data`` and returns the saved object. The form runs it once inside a
    savepoint that is always rolled back, so a ``ValidationError`` (or a ``Conflict``)
    becomes a form error instead of a server error; ``save_model`` then runs it for real.
    A service that stores files must not store them on the trial run (``dry_run``).
    """

    def get_form(self, request, obj=None, change=False, **kwargs):
        form_class = super().get_form(request, obj, change=change, **kwargs)
        model_admin = self

        class CheckedForm(form_class):
            def clean(self):
                cleaned = super().clean()
                if self.errors:
                    return cleaned
                try:
                    with transaction.atomic():
                        model_admin.service_save(request, self, obj, change, dry_run=True)
                        raise _DryRun
                except _DryRun:
                    pass
                except ValidationError as exc:
                    show_errors(self, exc)
                except Conflict as exc:
                    self.add_error(None, exc.message)
                return cleaned

        return CheckedForm

    def save_model(self, request, obj, form, change) -> None:
        saved = self.service_save(request, form, obj, change)
        obj.pk = saved.pk
        obj._state.adding = False
