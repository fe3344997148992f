"""Forms of the grid workers' pages. They only check the shape of the input; the rules
(who may visit, a closed campaign, a task already done) live in the services."""

from __future__ import annotations

import datetime

from django import forms
from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext_lazy as _

from residents.models import VisitKind

# A phone camera's photo is a few megabytes; more than this is a mistake (a video, a scan)
# that would tie up a weak connection for minutes before failing anyway.
MAX_PHOTO_BYTES = 10 * 1024 * 1024
SEARCH_MAX_LENGTH = 60
ANSWER_MAX_LENGTH = 200
# A visit logged without a signal is sent when the phone finds one, maybe days later; the
# phone says when the visit was made. Beyond this it is no longer a record of the visit.
VISIT_BACKDATE_LIMIT = datetime.timedelta(days=30)

# The kinds a worker logs from the archive; campaign visits are recorded on their task.
FIELD_VISIT_KINDS = [
    (VisitKind.ROUTINE.value, VisitKind.ROUTINE.label),
    (VisitKind.MUST_VISIT.value, VisitKind.MUST_VISIT.label),
    (VisitKind.FOLLOW_UP.value, VisitKind.FOLLOW_UP.label),
]


class PhotoInput(forms.ClearableFileInput):
    """Opens the phone's camera directly; a gallery pick still works."""

    def __init__(self, attrs: dict | None = None) -> None:
        super().__init__({"accept": "image/*", "capture": "environment", **(attrs or {})})


def _check_photo_size(photo) -> None:
    if photo and photo.size > MAX_PHOTO_BYTES:
        raise ValidationError(
            _("The photo is too large (at most %(mb)s MB)."),
            code="too_large",
            params={"mb": MAX_PHOTO_BYTES // (1024 * 1024)},
        )


class HouseholdSearchForm(forms.Form):
    q = forms.CharField(
        label=_("Search"),
        required=False,
        max_length=SEARCH_MAX_LENGTH,
        widget=forms.TextInput(
            attrs={"type": "search", "placeholder": _("Name, building, room or address")}
        ),
    )

    def terms(self) -> list[str]:
        """The words typed, each of which must match; none when the input is unusable."""
        if not self.is_valid():
            return []
        return self.cleaned_data["q"].split()


class VisitForm(forms.Form):
    kind = forms.ChoiceField(
        label=_("Kind of visit"), choices=FIELD_VISIT_KINDS, widget=forms.RadioSelect
    )
    findings = forms.CharField(
        label=_("What you found"),
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 3}),
    )
    photo = forms.ImageField(label=_("Photo"), required=False, widget=PhotoInput)
    # set by the phone when the worker saves the visit (field.js); empty means now
    visited_at = forms.CharField(required=False, widget=forms.HiddenInput)

    def clean_photo(self):
        photo = self.cleaned_data.get("photo")
        _check_photo_size(photo)
        return photo

    def clean(self) -> dict:
        """``visited_at`` is hidden, so its errors are the form's own. A phone whose clock
        runs ahead of ours has made the visit now, not in the future."""
        data = super().clean()
        raw = (data.get("visited_at") or "").strip()
        if not raw:
            data["visited_at"] = None
            return data
        try:
            moment = parse_datetime(raw) if len(raw) <= 40 else None
        except ValueError:
            moment = None
        if moment is None:
            raise ValidationError(_("The time of the visit is not a valid date and time."))
        if timezone.is_naive(moment):
            moment = timezone.make_aware(moment)
        now = timezone.now()
        if moment < now - VISIT_BACKDATE_LIMIT:
            raise ValidationError(
                _("A visit is recorded within %(days)s days of being made."),
                params={"days": VISIT_BACKDATE_LIMIT.days},
            )
        data["visited_at"] = min(moment, now)
        return data


class CampaignTaskForm(forms.Form):
    """The campaign's checklist as one text input per question, then findings and a photo."""

    findings = forms.CharField(
        label=_("What you found"),
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 3}),
    )
    photo = forms.ImageField(label=_("Photo"), required=False, widget=PhotoInput)

    def __init__(self, *args, questions: list[str], **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.questions = list(questions)
        answer_fields = {
            f"answer_{i}": forms.CharField(label=q, required=False, max_length=ANSWER_MAX_LENGTH)
            for i, q in enumerate(self.questions)
        }
        # The questions come first, in the campaign's order.
        self.fields = {**answer_fields, **self.fields}

    def answer_fields(self) -> list[forms.BoundField]:
        return [self[f"answer_{i}"] for i in range(len(self.questions))]

    def clean_photo(self):
        photo = self.cleaned_data.get("photo")
        _check_photo_size(photo)
        return photo

    def answers(self) -> dict[str, str]:
        """Question → answer, for the questions answered (a blank is no answer)."""
        return {
            q: self.cleaned_data[f"answer_{i}"].strip()
            for i, q in enumerate(self.questions)
            if self.cleaned_data.get(f"answer_{i}", "").strip()
        }
