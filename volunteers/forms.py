"""Forms of the volunteers' phone pages. They check the shape of the input only; the rules
(cut-offs, capacity, balance, stock) live in the services."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from volunteers.models import PointsAccount
from volunteers.selectors import account_label
from volunteers.services.shop import MAX_QUANTITY


class CodeForm(forms.Form):
    code = forms.RegexField(
        label=_("Code shown at the venue"),
        regex=r"^\s*\d{6}\s*$",
        error_messages={"invalid": _("The code has six digits.")},
        widget=forms.TextInput(
            attrs={"inputmode": "numeric", "autocomplete": "one-time-code", "maxlength": 6}
        ),
    )


class RedeemForm(forms.Form):
    account = forms.TypedChoiceField(label=_("Points of"), coerce=int)
    quantity = forms.IntegerField(
        label=_("Quantity"), min_value=1, max_value=MAX_QUANTITY, initial=1
    )

    def __init__(self, *args, accounts: list[PointsAccount], **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.accounts = {a.pk: a for a in accounts}
        self.fields["account"].choices = [
            (a.pk, f"{account_label(a)} · {a.get_kind_display()} · {a.balance}") for a in accounts
        ]
        if len(accounts) == 1:
            self.fields["account"].widget = forms.HiddenInput()
            self.fields["account"].initial = accounts[0].pk

    def chosen_account(self) -> PointsAccount:
        return self.accounts[self.cleaned_data["account"]]


class ConfirmForm(forms.Form):
    hours = forms.DecimalField(
        label=_("Hours"), required=False, min_value=0, max_digits=5, decimal_places=2
    )
