"""Forms of the tickets' phone pages. They check the shape of the input only; the rules
(who may report or act, anonymous categories, phone numbers, photos by content, the
state of the ticket) live in ``tickets.services`` and ``tickets.photos``, whose errors the
views put back on these forms."""

from __future__ import annotations

from django import forms
from django.contrib.auth import get_user_model
from django.db.models import QuerySet
from django.utils.translation import gettext_lazy as _

from grids.models import Grid
from tickets import photos
from tickets.models import Category, Rating

NOTE_MAX_LENGTH = 2000


class MultiplePhotoInput(forms.ClearableFileInput):
    """Several pictures at once, from the camera or the gallery (the phone offers both)."""

    allow_multiple_selected = True

    def __init__(self, attrs: dict | None = None) -> None:
        super().__init__({"accept": "image/jpeg,image/png,image/webp", **(attrs or {})})


class MultiplePhotoField(forms.FileField):
    """A list of uploads; their content is judged by ``tickets.photos`` in the service."""

    widget = MultiplePhotoInput

    def __init__(self, **kwargs) -> None:
        kwargs.setdefault("required", False)
        super().__init__(**kwargs)

    def clean(self, data, initial=None) -> list:
        files = data if isinstance(data, list | tuple) else [data]
        files = [f for f in files if f]
        for upload in files:
            super().clean(upload, initial)
        if len(files) > photos.MAX_PHOTOS:
            raise forms.ValidationError(
                _("At most %(max)s photos at a time."), params={"max": photos.MAX_PHOTOS}
            )
        return files


class GridChoiceField(forms.ModelChoiceField):
    """Grids indented by depth, so a tree reads as one in a phone's select list."""

    top_depth = 0  # the depth of the first grid offered, shown without indent

    def label_from_instance(self, obj: Grid) -> str:
        return "· " * max(obj.depth - self.top_depth, 0) + obj.name


class ReportForm(forms.Form):
    """随手拍: what, where (the phone's position, a photo's, the grid, an address), and for
    a resident without an account a number to call back."""

    category = forms.ModelChoiceField(label=_("Category"), queryset=Category.objects.none())
    title = forms.CharField(
        label=_("What is the problem?"),
        max_length=200,
        widget=forms.TextInput(attrs={"placeholder": _("e.g. Street lamp out at building 3")}),
    )
    description = forms.CharField(
        label=_("Details"),
        required=False,
        max_length=NOTE_MAX_LENGTH,
        widget=forms.Textarea(attrs={"rows": 3}),
    )
    photos = MultiplePhotoField(label=_("Photos"))
    lat = forms.FloatField(required=False, min_value=-90, max_value=90, widget=forms.HiddenInput)
    lng = forms.FloatField(required=False, min_value=-180, max_value=180, widget=forms.HiddenInput)
    grid = GridChoiceField(
        label=_("Grid"),
        queryset=Grid.objects.none(),
        required=False,
        empty_label=_("Located from the position"),
        help_text=_("Choose it when you do not share your position."),
    )
    address = forms.CharField(
        label=_("Address or landmark"),
        required=False,
        max_length=200,
        widget=forms.TextInput(attrs={"placeholder": _("e.g. Building 3, unit 2")}),
    )
    reporter_name = forms.CharField(label=_("Your name (optional)"), required=False, max_length=64)
    reporter_phone = forms.CharField(
        label=_("Your phone number"),
        required=False,
        max_length=20,
        widget=forms.TextInput(attrs={"type": "tel", "autocomplete": "tel"}),
    )

    def __init__(
        self,
        *args,
        categories: QuerySet[Category],
        grids: QuerySet[Grid],
        anonymous: bool,
        **kwargs,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.fields["category"].queryset = categories
        self.fields["grid"].queryset = grids
        first = grids.first()
        self.fields["grid"].top_depth = first.depth if first is not None else 0
        if anonymous:
            self.fields["reporter_phone"].required = True
        else:
            del self.fields["reporter_name"]
            del self.fields["reporter_phone"]

    def clean(self) -> dict:
        data = super().clean()
        if (data.get("lat") is None) != (data.get("lng") is None):
            data["lat"] = data["lng"] = None  # half a position is no position
        return data


class NoteForm(forms.Form):
    """Claim, accept, start, reopen, deliberate, report in: an optional note."""

    note = forms.CharField(
        label=_("Note (optional)"),
        required=False,
        max_length=NOTE_MAX_LENGTH,
        widget=forms.Textarea(attrs={"rows": 2}),
    )


class ResolveForm(NoteForm):
    note = forms.CharField(
        label=_("What was done"),
        required=False,
        max_length=NOTE_MAX_LENGTH,
        widget=forms.Textarea(attrs={"rows": 3}),
    )
    photos = MultiplePhotoField(label=_("Photos of the result"))


class DispatchForm(NoteForm):
    """社区派单 to a person; the claim board has a button of its own (``claim_board``)."""

    assignee = forms.ModelChoiceField(
        label=_("Give to"), queryset=get_user_model().objects.none(), required=False
    )
    claim_board = forms.BooleanField(required=False, widget=forms.HiddenInput)

    def __init__(self, *args, people: QuerySet, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["assignee"].queryset = people


class WhistleForm(NoteForm):
    departments = forms.ModelMultipleChoiceField(
        label=_("Departments"),
        queryset=Grid.objects.none(),
        widget=forms.CheckboxSelectMultiple,
    )

    def __init__(self, *args, departments: QuerySet[Grid], **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["departments"].queryset = departments


class RejectForm(forms.Form):
    reason = forms.CharField(
        label=_("Reason"), max_length=NOTE_MAX_LENGTH, widget=forms.Textarea(attrs={"rows": 2})
    )


class DuplicateForm(NoteForm):
    original = forms.CharField(
        label=_("Number of the original ticket"),
        max_length=24,
        widget=forms.TextInput(attrs={"placeholder": "20260302-0001"}),
    )


class ReplyForm(forms.Form):
    """A department's reply on a whistle (部门报到 → 回复), with photos."""

    reply = forms.CharField(
        label=_("Reply"), max_length=NOTE_MAX_LENGTH, widget=forms.Textarea(attrs={"rows": 3})
    )
    photos = MultiplePhotoField(label=_("Photos"))


class RateForm(forms.Form):
    rating = forms.ChoiceField(
        label=_("Are you satisfied?"), choices=Rating.choices, widget=forms.RadioSelect
    )
    comment = forms.CharField(
        label=_("Comment (optional)"),
        required=False,
        max_length=NOTE_MAX_LENGTH,
        widget=forms.Textarea(attrs={"rows": 3}),
    )
