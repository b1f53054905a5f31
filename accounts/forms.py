from django import forms
from django.contrib.auth import password_validation
from django.core.exceptions import ValidationError
from django.core.validators import RegexValidator, validate_email
from django.utils.translation import gettext_lazy as _

from accounts import currencies
from accounts.einvoice_ids import clean_endpoint
from accounts.forms_fields import NumberField
from accounts.locale import DEFAULT_LOCALE, LOCALES
from accounts.models import Customer, Invitation, Organization, Role, User
from accounts.models_org import RESERVED_SLUGS
from accounts.money import babel_locale
from accounts.org_directory import slug_taken

# Every active ISO 4217 currency, from CLDR (accounts.currencies), not a hand list (issue 17).
CURRENCIES = currencies.active_codes()
CURRENCY_CHOICES = [(c, c) for c in CURRENCIES]


def _currency_choices():
    from django.utils.translation import get_language

    return currencies.choices(babel_locale(get_language()))


class CurrencyField(forms.ChoiceField):
    """A currency select with every active code ("INR — Indian Rupee", names in the reader's
    language); a withdrawn or unknown code is refused by name, not as "not one of the choices"."""

    def __init__(self, **kwargs):
        kwargs.setdefault("label", _("Currency"))
        optional = kwargs.get("required") is False  # a blank first choice: "none chosen"
        super().__init__(choices=(lambda: [("", "—"), *_currency_choices()]) if optional else _currency_choices,
                         **kwargs)

    def to_python(self, value):
        return super().to_python(value).strip().upper()

    def validate(self, value):
        if value in self.empty_values:
            return super().validate(value)
        try:
            currencies.validate_code(value)
        except currencies.UnknownCurrency as e:
            raise ValidationError(str(e), code="invalid_choice") from None


CUSTOMER_LANGUAGES = [("en", _("English")), ("de", _("German")), ("fr", _("French")), ("es", _("Spanish")),
                      ("it", _("Italian")), ("nl", _("Dutch")), ("pt", _("Portuguese")), ("ga", _("Irish")),
                      ("sv", _("Swedish")), ("da", _("Danish")), ("nb", _("Norwegian")), ("fi", _("Finnish")),
                      ("pl", _("Polish")), ("cs", _("Czech")), ("hi", _("Hindi")), ("en-in", _("English (India)"))]
country_validator = RegexValidator(r"^[A-Za-z]{2}$", _("Use the two-letter ISO code, e.g. IE or DE."))
SLUG_LABEL = _("Web address")
SLUG_HELP = _("Lowercase letters, digits and hyphens. Your pages will live at /o/<web address>/.")
COUNTRY_HELP = _("Two letters, e.g. IE, DE, US.")
ENDPOINT_HELP = _("Peppol e-invoices name both parties by an endpoint id in a scheme (accounts.einvoice_ids).")


def _clean_endpoint(form, data: dict) -> dict:
    """Both the endpoint scheme and id, or neither (Peppol UBL e-invoices need both)."""
    for field, message in clean_endpoint(data.get("endpoint_scheme") or "", data.get("endpoint_id") or "").items():
        form.add_error(field, message)
    return data


class OrganizationFieldsMixin:
    def clean_slug(self):
        slug = self.cleaned_data["slug"].lower()
        if slug in RESERVED_SLUGS:
            raise ValidationError(_("This address is reserved. Please choose another."))
        # Other organizations are behind row-level security: ask the one narrow function.
        if slug_taken(slug, getattr(getattr(self, "instance", None), "pk", None)):
            raise ValidationError(_("This address is already taken. Please choose another."))
        return slug

    def clean_country(self):
        return (self.cleaned_data.get("country") or "").upper()


class OrganizationForm(OrganizationFieldsMixin, forms.ModelForm):
    base_currency = CurrencyField(label=_("Base currency"))
    country = forms.CharField(label=_("Country code"), max_length=2, required=False,
                              validators=[country_validator], help_text=COUNTRY_HELP)
    locale = forms.ChoiceField(label=_("Number and date format"), choices=LOCALES, required=False,
                               help_text=_("How amounts and dates are typed and shown, e.g. 1,234.56 or 1.234,56."))

    def clean(self):
        return _clean_endpoint(self, super().clean())

    def clean_locale(self):
        # Left out of a submission (an older form, a script): keep what the organization has.
        return self.cleaned_data.get("locale") or self.instance.locale or DEFAULT_LOCALE

    class Meta:
        model = Organization
        fields = ["name", "slug", "base_currency", "country", "locale", "address", "tax_id", "endpoint_scheme",
                  "endpoint_id", "require_two_factor"]
        labels = {"slug": SLUG_LABEL, "address": _("Postal address"), "tax_id": _("Tax id (VAT number)")}
        help_texts = {"slug": SLUG_HELP, "address": _("Printed on invoices and statements."),
                      "endpoint_scheme": ENDPOINT_HELP, "endpoint_id": _("E.g. your VAT number or GLN."),
                      "require_two_factor": _("Members without it are asked to set it up before they enter.")}
        widgets = {"address": forms.Textarea(attrs={"rows": 3})}


class SignupForm(OrganizationFieldsMixin, forms.Form):
    full_name = forms.CharField(label=_("Your name"), max_length=150)
    email = forms.EmailField(label=_("E-mail"))
    password = forms.CharField(label=_("Password"), widget=forms.PasswordInput, strip=False)
    name = forms.CharField(label=_("Organization name"), max_length=200)
    slug = forms.SlugField(label=SLUG_LABEL, max_length=50, help_text=SLUG_HELP)
    base_currency = CurrencyField(label=_("Base currency"))
    country = forms.CharField(label=_("Country code"), max_length=2, required=False,
                              validators=[country_validator], help_text=COUNTRY_HELP)

    def clean_email(self):
        # Whether an account exists is not said here (issue 22: enumeration): the view answers a
        # taken address with "check your e-mail" and tells that address's owner instead.
        return self.cleaned_data["email"].strip().lower()

    def clean(self):
        data = super().clean()
        if data.get("password"):
            user = User(email=data.get("email", ""), full_name=data.get("full_name", ""))
            try:
                password_validation.validate_password(data["password"], user)
            except ValidationError as e:
                self.add_error("password", e)
        slug = data.get("slug")
        if slug:
            Organization(slug=slug).clean_fields(exclude=[f.name for f in Organization._meta.fields
                                                          if f.name != "slug"])
        return data


class EmailAuthenticationForm(forms.Form):
    email = forms.EmailField(label=_("E-mail"))
    password = forms.CharField(label=_("Password"), widget=forms.PasswordInput, strip=False)


def validate_email_list(value: str) -> None:
    for address in [e.strip() for e in value.split(",") if e.strip()]:
        try:
            validate_email(address)
        except ValidationError as e:
            raise ValidationError(_("“%(address)s” is not a valid e-mail address."),
                                  params={"address": address}) from e


class CustomerForm(forms.ModelForm):
    currency = CurrencyField(label=_("Currency"))
    country = forms.CharField(label=_("Country code"), max_length=2, required=False, validators=[country_validator],
                              help_text=_("Two letters (FR, DE, IE …); e-invoices need it."))
    language = forms.ChoiceField(label=_("Preferred language"), choices=CUSTOMER_LANGUAGES,
                                 help_text=_("For reminders and documents, where a translation exists."))

    class Meta:
        model = Customer
        fields = ["name", "code", "contact_person", "billing_emails", "phone", "tax_id",
                  "billing_address", "country", "endpoint_scheme", "endpoint_id", "currency", "payment_terms_days",
                  "credit_limit", "language", "tags",
                  "notes"]
        field_classes = {"credit_limit": NumberField}
        widgets = {"billing_address": forms.Textarea(attrs={"rows": 3}),
                   "notes": forms.Textarea(attrs={"rows": 3})}

    def clean_country(self):
        return (self.cleaned_data.get("country") or "").upper()

    def clean(self):
        return _clean_endpoint(self, super().clean())

    def __init__(self, *args, org, **kwargs):
        self.org = org
        super().__init__(*args, **kwargs)
        self.fields["code"].required = False
        self.fields["code"].help_text = _("Leave empty to have one suggested from the name.")
        self.fields["payment_terms_days"].max_value = 365
        language = self.instance.language
        if language and language not in dict(CUSTOMER_LANGUAGES):
            self.fields["language"].choices = [*CUSTOMER_LANGUAGES, (language, language)]
        if self.instance.pk and self._has_activity():
            self.fields["currency"].disabled = True
            self.fields["currency"].help_text = _("Fixed once the customer has ledger activity.")

    def _has_activity(self) -> bool:
        from accounts.customer_activity import has_financial_activity

        return has_financial_activity(self.instance)

    def clean_billing_emails(self):
        value = self.cleaned_data["billing_emails"]
        validate_email_list(value)
        return ", ".join(e.strip().lower() for e in value.split(",") if e.strip())

    def clean_code(self):
        code = self.cleaned_data.get("code", "").strip().upper()
        if not code:
            from accounts.services import suggest_customer_code

            code = suggest_customer_code(self.org, self.data.get("name", "") or "CUST")
        clash = Customer.objects.filter(organization=self.org, code=code)
        if self.instance.pk:
            clash = clash.exclude(pk=self.instance.pk)
        if clash.exists():
            raise ValidationError(_("Another customer already uses the code %(code)s."),
                                  params={"code": code})
        return code

    def clean_payment_terms_days(self):
        days = self.cleaned_data["payment_terms_days"]
        if days > 365:
            raise ValidationError(_("Payment terms can be at most 365 days."))
        return days

    def save(self, commit=True):
        self.instance.organization = self.org
        return super().save(commit)


class InviteForm(forms.ModelForm):
    class Meta:
        model = Invitation
        fields = ["email", "role"]

    def clean_email(self):
        return self.cleaned_data["email"].strip().lower()


class RoleForm(forms.Form):
    role = forms.ChoiceField(choices=Role.choices)


class InviteeForm(forms.Form):
    full_name = forms.CharField(label=_("Your name"), max_length=150)
    password = forms.CharField(label=_("Choose a password"), widget=forms.PasswordInput, strip=False)

    def __init__(self, *args, email, **kwargs):
        self.email = email
        super().__init__(*args, **kwargs)

    def clean_password(self):
        password = self.cleaned_data["password"]
        password_validation.validate_password(password, User(email=self.email))
        return password
