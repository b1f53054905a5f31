"""Issue 17 item 6: reminder texts per language with their fallback and the policy editor's warning,
the user's interface language, and the translation catalogs (complete for the customer-facing parts,
compiled files in step with their sources)."""

from datetime import timedelta
from pathlib import Path

import pytest
from babel.messages.mofile import read_mo
from babel.messages.pofile import read_po
from django.conf import settings
from django.test import Client
from django.urls import reverse

from ledger_site.tenancy import tenant_context
from reminders.models import ReminderPolicy, ReminderStep
from reminders.outbox import render_message
from reminders.policy import step_text
from tests.factories import CustomerFactory, make_org
from tests.invoicing_helpers import issued
from tests.reports import helpers as h

pytestmark = pytest.mark.django_db
DUE = h.ago(-30)
LOCALE = Path(settings.BASE_DIR) / "ledger_site" / "locale"


def _org(locale="en_GB"):
    org, owner = make_org(locale=locale)
    return org, owner


def _policy_form(policy, steps):
    data = {"name": policy.name, "is_default": "on", "repeat_every_days": "7", "repeat_limit": "4",
            "steps-TOTAL_FORMS": str(len(steps)), "steps-INITIAL_FORMS": str(len(steps)),
            "steps-MIN_NUM_FORMS": "0", "steps-MAX_NUM_FORMS": "12"}
    for n, step in enumerate(steps):
        data.update({f"steps-{n}-id": step.pk, f"steps-{n}-policy": policy.pk,
                     f"steps-{n}-offset_days": step.offset_days,
                     f"steps-{n}-tone": step.tone, f"steps-{n}-subject": step.subject, f"steps-{n}-body": step.body,
                     f"steps-{n}-fee_type": "none", f"steps-{n}-fee_value": "", f"steps-{n}-fee_cap": ""})
        for lang, text in (step.texts or {}).items():
            data[f"steps-{n}-subject_{lang}"], data[f"steps-{n}-body_{lang}"] = text["subject"], text["body"]
    return data


def test_a_step_without_the_customers_language_falls_back_to_the_default_languages_text():
    org, _owner = _org()
    with tenant_context(org):
        customer = CustomerFactory(organization=org, language="de")
        invoice = issued(org, customer, issue_date=h.ago(2), due_date=DUE)
        step = ReminderPolicy.objects.get(organization=org, is_default=True).steps.get(offset_days=7)
        subject, body = render_message(invoice, step, DUE + timedelta(days=7))
        assert subject.startswith("Überfällig: Rechnung") and "Mit freundlichen Grüßen" in body
        step.texts = {lang: text for lang, text in step.texts.items() if lang != "de"}
        step.save(update_fields=["texts"])
        subject, body = render_message(invoice, step, DUE + timedelta(days=7))
        # The organization's default (English) text, but the amounts and dates still laid out for German
        assert subject.startswith("Overdue: invoice") and "Kind regards" in body
        assert "240,00\u00a0€" in body


def test_an_organization_in_german_writes_its_steps_in_german_and_keeps_english_for_english_customers():
    org, _owner = _org("de_DE")
    with tenant_context(org):
        step = ReminderPolicy.objects.get(organization=org, is_default=True).steps.get(offset_days=-3)
        assert step.subject == "Rechnung {invoice_number} {due_when}" and "en" in step.texts and "de" not in step.texts
        assert step_text(step, "de", "de") == (step.subject, step.body, False)
        english = CustomerFactory(organization=org, language="en")
        invoice = issued(org, english, issue_date=h.ago(2), due_date=DUE)
        subject, body = render_message(invoice, step, DUE - timedelta(days=3))
        assert subject.startswith("Invoice ") and "is due on" in subject and "A friendly note" in body


def test_the_policy_editor_saves_texts_per_language_and_warns_about_missing_ones(client):
    org, owner = _org()
    client.force_login(owner)
    with tenant_context(org):
        policy = ReminderPolicy.objects.get(organization=org, is_default=True)
        steps = list(policy.steps.all())
        step = steps[0]
        step.texts = {}
        step.save(update_fields=["texts"])
    edit = reverse("reminder_policy_edit", kwargs={"org_slug": org.slug, "pk": policy.pk})
    page = client.get(edit).content.decode()
    assert page.count("step-language-warning") == 1
    assert "No text in German, French, Spanish, Hindi" in page
    detail = client.get(reverse("reminder_policy", kwargs={"org_slug": org.slug, "pk": policy.pk})).content.decode()
    assert "No text in German, French, Spanish, Hindi: customers who read those languages get this step in English" \
        in detail

    # Half a translation is refused and nothing changes.
    data = _policy_form(policy, steps)
    data["steps-0-subject_de"] = "Rechnung {invoice_number}"
    response = client.post(edit, data)
    assert response.status_code == 200
    assert "Write both the subject and the body in German, or neither" in response.content.decode()
    with tenant_context(org):
        assert ReminderStep.objects.get(pk=step.pk).texts == {}

    # A broken placeholder in a translation is refused by name too.
    data["steps-0-body_de"] = "Guten Tag {kunde}"
    assert "Unknown placeholder {kunde}" in client.post(edit, data).content.decode()

    data["steps-0-body_de"] = "Guten Tag {customer}"
    assert client.post(edit, data).status_code == 302
    with tenant_context(org):
        assert ReminderStep.objects.get(pk=step.pk).texts == {
            "de": {"subject": "Rechnung {invoice_number}", "body": "Guten Tag {customer}"}}
    page = client.get(edit).content.decode()
    assert "No text in French, Spanish, Hindi" in page and "No text in German" not in page


def test_a_user_chooses_the_interface_language_and_pages_keep_the_organizations_number_format(client):
    org, owner = _org()
    client.force_login(owner)
    with tenant_context(org):
        customer = CustomerFactory(organization=org, language="en")
        invoice = issued(org, customer, lines=(("X", "1", "1234.50", None),), issue_date=h.ago(2), due_date=DUE)
    url = reverse("language_settings")
    page = client.get(url)
    assert page.status_code == 200 and 'lang="en"' in page.content.decode()
    # An unknown language is refused and nothing changes.
    response = client.post(url, {"language": "xx"})
    assert response.status_code == 200 and "Select a valid choice" in response.content.decode()
    owner.refresh_from_db()
    assert owner.language == ""
    assert client.post(url, {"language": "de"}).status_code == 302
    owner.refresh_from_db()
    assert owner.language == "de"
    detail = client.get(reverse("invoice_detail", kwargs={"org_slug": org.slug, "pk": invoice.pk}))
    html = detail.content.decode()
    assert 'lang="de"' in html and "Abmelden" in html and detail["Content-Language"] == "de"
    assert "1,234.50 EUR" in html  # the organization's format (en_GB), not German's "1.234,50 €"
    # A visitor, and someone else, still get the default language.
    assert 'lang="en"' in Client().get(reverse("login")).content.decode()
    other = Client()
    other.force_login(make_org()[1])
    assert 'lang="en"' in other.get(reverse("language_settings")).content.decode()


def _customer_facing(message) -> bool:
    prefixes = ("templates/invoicing/pdf/", "templates/payments/receipt_pdf.html",
                "templates/reports/pdf/statement.html", "templates/public/", "templates/base_public.html",
                "invoicing/pdf.py", "invoicing/mail.py",
                "reports/statements.py", "reminders/outbox.py", "reminders/views/portal.py")
    return any(path.startswith(prefixes) for path, _line in message.locations) or message.id in (
        "Credit", "Late fee on invoice %(number)s (%(days)s days overdue)", "Current", "Over %(n)s",
        "is due on %(date)s", "is due today", "was due on %(date)s")


@pytest.mark.parametrize("language", ["de", "fr", "es", "hi"])
def test_every_customer_facing_string_is_translated_and_the_compiled_catalog_matches(language):
    assert language in dict(settings.LANGUAGES)
    po_path = LOCALE / language / "LC_MESSAGES" / "django.po"
    with po_path.open("rb") as f:
        po = read_po(f, locale=language)
    facing = [m for m in po if m.id and _customer_facing(m)]
    assert len(facing) > 150
    missing = [m.id for m in facing if not (all(m.string) if isinstance(m.string, tuple) else m.string)
               or m.fuzzy]
    assert missing == []
    with (po_path.parent / "django.mo").open("rb") as f:
        mo = read_mo(f)
    def plain(value):
        return tuple(value) if isinstance(value, list | tuple) else value

    compiled = {plain(m.id): plain(m.string) for m in mo if m.id}
    written = {plain(m.id): plain(m.string) for m in po if m.id and m.string and not m.fuzzy
               and (all(m.string) if isinstance(m.string, tuple) else True)}
    assert compiled == written, "run manage.py compilemessages (or msgfmt) after editing the .po"


def test_the_demo_has_a_german_and_a_french_customer_whose_invoices_are_in_their_language():
    from accounts.management.commands.seed_demo import DEMO_HOOKS
    from accounts.models import Customer
    from invoicing.demo_languages import seed_demo_languages
    from invoicing.models import Invoice
    from invoicing.pdf import render_invoice_pdf
    from tests.documents_helpers import pdf_pages_text

    assert seed_demo_languages in DEMO_HOOKS
    org, owner = _org()
    with tenant_context(org):
        assert seed_demo_languages(org, owner) == {"language_customers": 2, "language_invoices": 4}
        for language, title in (("de", "RECHNUNG"), ("fr", "FACTURE")):
            customer = Customer.objects.get(organization=org, language=language)
            invoice = Invoice.objects.filter(customer=customer).first()
            assert title in "\n".join(pdf_pages_text(render_invoice_pdf(invoice)))
