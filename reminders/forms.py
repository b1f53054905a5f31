from django import forms
from django.core.exceptions import ValidationError
from django.forms import BaseInlineFormSet, inlineformset_factory
from django.utils.translation import gettext_lazy as _

from accounts.forms_fields import NumberField
from accounts.locale import DOCUMENT_LANGUAGES
from accounts.models import Organization
from accounts.models_org import validate_timezone
from reminders.late_fees import currency_fees_text, parse_currency_fees, set_currency_fees
from reminders.models import (
    CustomerReminderSettings,
    ReminderPolicy,
    ReminderSettings,
    ReminderStep,
    validate_template,
)
from reminders.policy import MAX_TEMPLATE_LENGTH, missing_languages

MAX_STEPS = 12
LANGUAGE_NAMES = {"en": _("English"), "de": _("German"), "fr": _("French"), "es": _("Spanish"), "hi": _("Hindi")}


class ReminderSettingsForm(forms.ModelForm):
    """The send hour and pause switch, and the organization's time zone (kept on the organization:
    it is the one "today" of every page, not only of reminders)."""

    timezone = forms.CharField(label=Organization._meta.get_field("timezone").verbose_name, max_length=64,
                               validators=[validate_timezone],
                               help_text=Organization._meta.get_field("timezone").help_text)

    class Meta:
        model = ReminderSettings
        fields = ["timezone", "send_hour", "paused", "paused_reason",
                  # What customers may do on their link (issue 19)
                  "portal_disputes", "portal_promises", "portal_balance", "portal_statement",
                  "promise_grace_days", "reply_to"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["timezone"].initial = self.instance.organization.timezone
        self.order_fields(self.Meta.fields)
        self.fields["promise_grace_days"].required = False

    def clean_promise_grace_days(self):
        value = self.cleaned_data.get("promise_grace_days")
        return 3 if value is None else value  # left empty: the default grace

    def save(self, commit=True):
        settings = super().save(commit=commit)
        org = settings.organization
        if commit and org.timezone != self.cleaned_data["timezone"]:
            org.timezone = self.cleaned_data["timezone"]
            org.save(update_fields=["timezone"])
        return settings


class PolicyForm(forms.ModelForm):
    class Meta:
        model = ReminderPolicy
        fields = ["name", "is_default", "repeat_every_days", "repeat_limit", "one_message_per_customer"]

    def __init__(self, *args, org=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.org = org

    def clean_name(self):
        name = self.cleaned_data["name"].strip()
        others = ReminderPolicy.objects.filter(organization=self.org, name__iexact=name)
        if self.instance.pk:
            others = others.exclude(pk=self.instance.pk)
        if others.exists():
            raise ValidationError(_("Another policy already has this name."))
        return name

    def clean(self):
        data = super().clean()
        if data.get("repeat_every_days") and not data.get("repeat_limit"):
            self.add_error("repeat_limit", _("Say how many repeats at most (1–20)."))
        if data.get("repeat_limit") and not data.get("repeat_every_days"):
            self.add_error("repeat_every_days", _("Say every how many days the last step repeats."))
        if self.instance.pk and self.instance.is_default and not data.get("is_default"):
            self.add_error("is_default", _("Make another policy the default instead; one is always the default."))
        return data


class StepForm(forms.ModelForm):
    class Meta:
        model = ReminderStep
        fields = ["offset_days", "tone", "fee_type", "fee_value", "fee_cap", "subject", "body", "attach_pdf"]
        field_classes = {"fee_value": NumberField, "fee_cap": NumberField}
        widgets = {"body": forms.Textarea(attrs={"rows": 6}), "offset_days": forms.NumberInput(attrs={"size": 5})}

    def __init__(self, *args, currency=None, language="en", **kwargs):
        super().__init__(*args, **kwargs)
        # The step's texts in the other languages (issue 17): subject_<lang> and body_<lang>, kept in
        # ReminderStep.texts. subject/body are the organization's default language.
        self.default_language = language
        self.other_languages = [lang for lang in DOCUMENT_LANGUAGES if lang != language]
        texts = self.instance.texts or {}
        for lang in self.other_languages:
            name = LANGUAGE_NAMES[lang]
            own = texts.get(lang) or {}
            self.fields[f"subject_{lang}"] = forms.CharField(
                label=_("Subject (%(language)s)") % {"language": name}, max_length=200, required=False,
                initial=own.get("subject", ""), validators=[validate_template])
            self.fields[f"body_{lang}"] = forms.CharField(
                label=_("Body (%(language)s)") % {"language": name}, max_length=MAX_TEMPLATE_LENGTH,
                required=False, initial=own.get("body", ""), validators=[validate_template],
                widget=forms.Textarea(attrs={"rows": 5}))
        self.fields["subject"].label = _("Subject (%(language)s, the default)") % {
            "language": LANGUAGE_NAMES.get(language, language)}
        self.fields["body"].label = _("Body (%(language)s, the default)") % {
            "language": LANGUAGE_NAMES.get(language, language)}
        if currency:  # the policy's amounts are in the organization's base currency: say which
            self.fields["fee_value"].label = _("Fee (amount in %(currency)s, or %%)") % {"currency": currency}
            self.fields["fee_cap"].label = _("Fee cap (%(currency)s)") % {"currency": currency}
            self.fields["fee_value"].help_text = _(
                "Amounts are in %(currency)s. On an invoice in another currency they are converted at the "
                "day's rate, unless a fee for that currency is set below.") % {"currency": currency}
        # The step's own fee per currency (issue 17, StepCurrencyFee): "USD 45", one currency a line;
        # the fixed fee, or a percentage fee's cap. Read and written by reminders.late_fees.
        self.base_currency = currency
        self.fields["currency_fees"] = forms.CharField(
            label=_("Fees in other currencies"), required=False, max_length=2000,
            initial=currency_fees_text(self.instance) if self.instance.pk else "",
            widget=forms.Textarea(attrs={"rows": 2, "placeholder": "USD 45\nJPY 6500"}),
            help_text=_("One currency a line: the code and the fixed fee (for a percentage fee: its cap), "
                        "e.g. “USD 45”. Other currencies get the converted amount."))

    def clean_currency_fees(self):
        try:
            return parse_currency_fees(self.cleaned_data.get("currency_fees") or "", self.base_currency)
        except ValueError as e:
            raise ValidationError(str(e)) from None

    def save_currency_fees(self, step) -> None:
        """Write this step's per-currency fees as typed (after the step itself is saved)."""
        # Only when the editor sent the field: a post without it (an older page) leaves the fees alone.
        if self.add_prefix("currency_fees") in self.data and "currency_fees" in getattr(self, "cleaned_data", {}):
            set_currency_fees(step, self.cleaned_data["currency_fees"])

    def main_fields(self):
        return [f for f in self.visible_fields() if not f.name.startswith(("subject_", "body_"))]

    def language_fields(self):
        """(language name, subject field, body field) of every other language, for the editor."""
        return [(LANGUAGE_NAMES[lang], self[f"subject_{lang}"], self[f"body_{lang}"]) for lang in self.other_languages]

    def missing_languages(self) -> list[str]:
        """The names of the languages this step has no text in (as saved, or as posted): customers in
        those languages get the default language's text. The editor shows it as a warning."""
        texts = self._texts() if self.is_bound and hasattr(self, "cleaned_data") else self.instance.texts or {}
        probe = type("Step", (), {"subject": "", "body": "", "texts": texts})
        return [str(LANGUAGE_NAMES[lang]) for lang in missing_languages(probe, self.default_language,
                                                                         self.other_languages)]

    def _texts(self) -> dict:
        data = getattr(self, "cleaned_data", {}) or {}
        texts = {}
        for lang in self.other_languages:
            subject, body = (data.get(f"subject_{lang}") or "").strip(), (data.get(f"body_{lang}") or "").strip()
            if subject or body:
                texts[lang] = {"subject": subject, "body": body}
        return texts

    def clean(self):
        data = super().clean()
        for lang in self.other_languages:
            subject, body = (data.get(f"subject_{lang}") or "").strip(), (data.get(f"body_{lang}") or "").strip()
            if bool(subject) != bool(body):
                self.add_error(f"subject_{lang}" if not subject else f"body_{lang}", _(
                    "Write both the subject and the body in %(language)s, or neither (then the default "
                    "language's text is sent).") % {"language": LANGUAGE_NAMES[lang]})
        return data

    def save(self, commit=True):
        self.instance.texts = self._texts()
        return super().save(commit=commit)


class BaseStepFormSet(BaseInlineFormSet):
    def clean(self):
        super().clean()
        if any(self.errors):
            return
        offsets = []
        for form in self.forms:
            if not form.cleaned_data or form.cleaned_data.get("DELETE"):
                continue
            offsets.append(form.cleaned_data["offset_days"])
        if not offsets:
            raise ValidationError(_("A policy needs at least one step."))
        for n in range(1, len(offsets)):
            if offsets[n] <= offsets[n - 1]:
                raise ValidationError(
                    _("Steps must be in order of their day, each later than the one before: step %(n)s "
                      "(day %(this)+d) does not come after step %(prev_n)s (day %(prev)+d).")
                    % {"n": n + 1, "this": offsets[n], "prev_n": n, "prev": offsets[n - 1]})


StepFormSet = inlineformset_factory(ReminderPolicy, ReminderStep, form=StepForm, formset=BaseStepFormSet,
                                    extra=1, can_delete=True, max_num=MAX_STEPS, validate_max=True)


class CustomerReminderForm(forms.ModelForm):
    class Meta:
        model = CustomerReminderSettings
        fields = ["policy", "do_not_remind", "note"]

    def __init__(self, *args, org=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["policy"].queryset = ReminderPolicy.objects.filter(organization=org)
        self.fields["policy"].empty_label = _("The default policy")


class PromiseForm(forms.Form):
    until = forms.DateField(label=_("Promised to pay by"), widget=forms.DateInput(attrs={"type": "date"}))
    promised_by = forms.CharField(label=_("Who promised"), max_length=150,
                                  help_text=_("The person at the customer, e.g. “Jane Roe (accounts)”."))
    note = forms.CharField(label=_("Note"), max_length=500, required=False, widget=forms.Textarea(attrs={"rows": 3}))


class ManualSendForm(forms.Form):
    step = forms.ModelChoiceField(label=_("Template"), queryset=ReminderStep.objects.none(), empty_label=None)
    key = forms.CharField(widget=forms.HiddenInput, max_length=64)

    def __init__(self, *args, org=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["step"].queryset = (ReminderStep.objects.filter(organization=org)
                                        .select_related("policy").order_by("policy__name", "offset_days"))
        self.fields["step"].label_from_instance = lambda s: (
            f"{s.policy.name}: " + (_("day %(d)+d") % {"d": s.offset_days}) + f" · {s.get_tone_display()} · "
            + s.subject[:60])
