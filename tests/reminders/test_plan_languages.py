"""Payment plans and the one e-mail per customer in the customer's language (issue 19 #7 and #4 with
issue 17): the instalment reminder e-mail, the customer's account page on the link (the plan offered,
its acceptance, "e-mail me a copy") and the consolidated reminder e-mail are in German, French, Spanish
and Hindi, with no English left in what the customer reads."""

import re
import uuid
from datetime import timedelta
from decimal import Decimal

import pytest
from django.core import mail
from django.test import Client

from invoicing.public import ensure_link, link_path
from ledger_site.tenancy import tenant_context
from reminders import plans
from tests.documents_languages.test_customer_language import _org_and_customer, english_left, squash
from tests.invoicing_helpers import issued
from tests.payments.helpers import pay
from tests.reminders.helpers import TODAY, at, run
from tests.reminders.test_consolidated import AT_STEP, BASE, consolidating

pytestmark = pytest.mark.django_db

LINES = (("X-100 Modul", "2", "100.00", "20"),)  # 240.00 due; no English of its own
# What each language's reminder and page must say (and so what proves the translation was used).
EXPECTED = {
    "de": {"subject": "Rate 1 von 2 Ihres Ratenplans", "body": ["Guten Tag Kunde X-1,", "war am", "fällig",
                                                                "Der Plan umfasst:", "120,00 €"],
           "page": ["Ein Ratenplan für Sie", "Ich nehme diesen Ratenplan an", "Kopie per E-Mail senden"],
           "done": "Ihr Ratenplan ist vereinbart", "stale": "Der offene Betrag hat sich geändert"},
    "fr": {"subject": "Échéance 1 sur 2 de votre plan de paiement", "body": ["Bonjour Kunde X-1,", "était due le",
                                                                           "Le plan couvre :", "120,00 €"],
           "page": ["Un plan de paiement pour vous", "J’accepte ce plan de paiement",
                    "M’envoyer une copie par e-mail"],
           "done": "votre plan de paiement est convenu", "stale": "Le montant dû a changé"},
    "es": {"subject": "Plazo 1 de 2 de su plan de pagos", "body": ["Estimado/a Kunde X-1:", "venció el",
                                                                  "El plan cubre:", "120,00 €"],
           "page": ["Un plan de pagos para usted", "Acepto este plan de pagos",
                    "Enviarme una copia por correo electrónico"],
           "done": "su plan de pagos está acordado", "stale": "Lo adeudado ha cambiado"},
    "hi": {"subject": "आपकी भुगतान योजना की किस्त 1 / 2", "body": ["प्रिय Kunde X-1,", "को देय था",
                                                                 "योजना में शामिल हैं:", "120.00"],
           "page": ["आपके लिए एक भुगतान योजना", "मैं यह भुगतान योजना स्वीकार करता/करती हूँ",
                    "मुझे एक प्रति ई-मेल करें"],
           "done": "आपकी भुगतान योजना तय हो गई है", "stale": "देय राशि बदल गई है"},
}
LANGUAGES = sorted(EXPECTED)


def visible_text(html: str) -> str:
    """What a reader sees in the page's <main>: no tags, attributes, scripts or entities' markup."""
    main = html.split('<main id="main"', 1)[1].split("</main>", 1)[0]
    main = re.sub(r"<(script|style)\b.*?</\1>", " ", main, flags=re.S)
    text = re.sub(r"<[^>]+>", " ", main.split(">", 1)[1])
    return squash(text.replace("&nbsp;", " ").replace("&#x27;", "'").replace("&quot;", '"').replace("&amp;", "&"))


def plan_for(language, *, propose):
    org, owner, customer = _org_and_customer(language)
    with tenant_context(org):
        invoice = issued(org, customer, lines=LINES, issue_date=TODAY - timedelta(days=70),
                         due_date=TODAY - timedelta(days=40))
        first = TODAY - timedelta(days=15) if not propose else TODAY + timedelta(days=7)
        plan = plans.create_plan(customer, [invoice.pk], [(first, Decimal("120.00")),
                                                          (first + timedelta(days=20), Decimal("120.00"))],
                                 actor=owner, propose=propose, today=TODAY - timedelta(days=20) if not propose
                                 else TODAY)
        link = ensure_link(invoice)
    return org, customer, invoice, plan, link_path(link) + "account/"


@pytest.mark.parametrize("language", LANGUAGES)
def test_the_instalment_reminder_is_in_the_customers_language(language):
    org, customer, invoice, plan, _url = plan_for(language, propose=False)
    # First scan three days after instalment 1's date: it "was due on" that day.
    run(at(TODAY - timedelta(days=12)), org)
    (message,) = mail.outbox
    expected = EXPECTED[language]
    assert expected["subject"] in message.subject, message.subject
    body = squash(message.body)
    for phrase in expected["body"]:
        assert phrase in body, (phrase, body)
    assert invoice.number in body and "Nordwind GmbH" in body
    assert english_left(squash(message.subject) + " " + body, language) == [], body


@pytest.mark.parametrize("language", LANGUAGES)
def test_the_account_page_offering_a_plan_and_its_answers_are_in_the_customers_language(language):
    org, customer, invoice, plan, url = plan_for(language, propose=True)
    client = Client()
    page = client.get(url)
    assert page.status_code == 200
    text = visible_text(page.content.decode())
    expected = EXPECTED[language]
    for phrase in expected["page"]:
        assert phrase in text, (phrase, text)
    assert english_left(text, language) == [], text
    # A stale proposal (something was paid since) is refused in the customer's language too.
    with tenant_context(org):
        pay(org, customer, "10.00", allocation={invoice.pk: Decimal("10.00")})
    refused = client.post(url + "plan/", {"plan": plan.pk, "key": uuid.uuid4().hex})
    assert refused.status_code == 400
    error = visible_text(refused.content.decode()).split(expected["page"][0])[0]
    assert expected["stale"] in error and english_left(error, language) == [], error
    # A fresh proposal accepted: the thank-you on the page the customer lands on.
    with tenant_context(org):
        invoice.refresh_from_db()
        plans.cancel(plan)
        fresh = plans.create_plan(customer, [invoice.pk], [(TODAY + timedelta(days=7), invoice.amount_due)],
                                  actor=None, propose=True, today=TODAY)
    response = client.post(url + "plan/", {"plan": fresh.pk, "key": uuid.uuid4().hex})
    assert response.status_code == 302
    done = visible_text(client.get(response["Location"]).content.decode())
    assert expected["done"] in done and english_left(done, language) == [], done


@pytest.mark.parametrize("language", LANGUAGES)
def test_an_english_customer_still_reads_english(language):
    """The control: the same plan for an English-speaking customer says it in English, so the checks
    above can fail."""
    org, customer, invoice, plan, url = plan_for("en", propose=True)
    text = visible_text(Client().get(url).content.decode())
    assert "A payment plan for you" in text and "I accept this payment plan" in text
    assert english_left(text, language) != []


# The consolidated e-mail for three invoices at days 0, +7 and +21 (the firmest tone: final).
CONSOLIDATED = {
    "de": ["Letzte Mahnung: 3 Rechnungen von Nordwind GmbH", "Guten Tag Kunde X-1,",
           "Dies ist unsere letzte Mahnung zu den folgenden Rechnungen.", "(7 Tage überfällig)", "Gesamt:",
           "Ihr Kontoauszug ist beigefügt."],
    "fr": ["Dernier rappel : 3 factures de Nordwind GmbH", "Bonjour Kunde X-1,",
           "Ceci est notre dernier rappel concernant les factures ci-dessous.", "(en retard de 7 jours)",
           "Total :", "Votre relevé de compte est joint."],
    "es": ["Último aviso: 3 facturas de Nordwind GmbH", "Estimado/a Kunde X-1:",
           "Este es nuestro último aviso sobre las facturas siguientes.", "(7 días de retraso)", "Total:",
           "Adjuntamos su extracto de cuenta."],
    "hi": ["अंतिम अनुस्मारक: Nordwind GmbH के 3 चालान", "प्रिय Kunde X-1,",
           "यह नीचे दिए गए चालानों के बारे में हमारा अंतिम अनुस्मारक है।", "(7 दिनों से बकाया)", "कुल:",
           "आपका खाता विवरण संलग्न है।"],
}


@pytest.mark.parametrize("language", LANGUAGES)
def test_the_one_email_per_customer_is_in_the_customers_language(language, settings):
    settings.PUBLIC_BASE_URL = "http://testserver"
    org, _owner, customer = _org_and_customer(language)
    consolidating(org)
    with tenant_context(org):
        for offset in (0, 7, 21):
            due = AT_STEP[offset]
            issued(org, customer, lines=LINES, issue_date=min(due, TODAY), due_date=due)
    run(at(BASE), org)
    (message,) = mail.outbox
    text = squash(message.subject) + " " + squash(re.sub(r"https?://\S+", " ", message.body))
    for phrase in CONSOLIDATED[language]:
        assert phrase in text, (phrase, text)
    assert english_left(text, language) == [], text
