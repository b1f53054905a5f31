"""Scheduled report e-mails (issue 20 item 9, reports/subscriptions.py): a real SMTP server
(aiosmtpd), the PDF's text extracted, XLSX read back; once per period (the idempotency key),
in the organization's time zone, and only to members who still hold the role."""

import io
import re
from datetime import UTC, datetime, time, timedelta
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from accounts.models import Membership, Role
from accounts.money import format_money
from invoicing.mail import deliver
from invoicing.models_documents import EmailDelivery
from ledger_site.tenancy import tenant_context
from reports import subscriptions
from reports.models import ReportDispatch, ReportSubscription
from reports.tasks import send_report_emails
from tests.documents_helpers import pdf_pages_text
from tests.factories import CustomerFactory
from tests.reports.helpers import invoice, pay
from tests.smtp import smtp_server_fixture

pytestmark = pytest.mark.django_db
smtp_server = pytest.fixture(smtp_server_fixture)
ZONE = "Pacific/Auckland"  # UTC+13 in December: its Monday starts on Sunday morning in UTC


def local(org, day, hour, minute=0):
    return datetime.combine(day, time(hour, minute), tzinfo=org.zone)


@pytest.fixture
def auckland_week(world):
    """Organization A in Auckland with a short history around the last complete week before a
    reference Monday M (at least a week ago, so the as-of path is exercised):
    1,000.00 issued 60 days ago, due 30 days ago, 250.00 paid 40 days ago and 100.00 on M−2;
    300.00 issued on M−3 (due in 30 days); 5,000.00 issued on M, after the period: not in it."""
    org = world.org
    with tenant_context(org, world.owner):
        org.timezone = ZONE
        org.save(update_fields=["timezone"])
        today = org.today()
        monday = today - timedelta(days=today.isoweekday() - 1) - timedelta(days=7)
        customer = CustomerFactory(organization=org, name="Kowhai Traders")
        first = invoice(org, customer, "1000.00", today - timedelta(days=60), today - timedelta(days=30),
                        actor=world.owner)
        pay(org, customer, "250.00", today - timedelta(days=40), allocation={first: "250.00"}, actor=world.owner)
        pay(org, customer, "100.00", monday - timedelta(days=2), allocation={first: "100.00"}, actor=world.owner)
        invoice(org, customer, "300.00", monday - timedelta(days=3), actor=world.owner)
        invoice(org, customer, "5000.00", monday, actor=world.owner)
    return {"org": org, "monday": monday, "customer": customer, "world": world}


def subscribe(org, user, **fields):
    with tenant_context(org):
        sub = ReportSubscription.objects.create(organization=org, user=user, **fields)
        # Made well before the periods the tests send, so the first period is not cut off.
        ReportSubscription.objects.filter(pk=sub.pk).update(created_at=timezone.now() - timedelta(days=60))
    return sub


def run(org, now):
    with tenant_context(org):
        return subscriptions.send_due(org, now)


def deliver_all(org):
    with tenant_context(org):
        ids = list(EmailDelivery.objects.filter(organization=org, kind="report", status="queued")
                   .values_list("pk", flat=True))
        return [deliver(pk) for pk in ids]


def test_weekly_summary_pdf_goes_out_once_with_the_figures_as_of_the_period_end(auckland_week, smtp_server):
    org, monday, world = auckland_week["org"], auckland_week["monday"], auckland_week["world"]
    subscribe(org, world.owner, report="summary", frequency="weekly", file_format="pdf")
    now = local(org, monday, 7)
    assert run(org, now) == {"sent": 1, "skipped": 0}
    # Again the same hour, later that day and on Sunday: the period was handled; nothing more.
    for later in (now, now + timedelta(hours=5), now + timedelta(days=6)):
        assert run(org, later) == {"sent": 0, "skipped": 0}
    assert deliver_all(org) == ["sent"]
    smtp_server.wait_for(1)
    [message] = smtp_server.messages
    assert message["To"] == world.owner.email
    assert "Organization A: AR summary" in message["Subject"]
    [attachment] = list(message.iter_attachments())
    assert attachment.get_content_type() == "application/pdf"
    text = " ".join(" ".join(pdf_pages_text(attachment.get_content())).split())
    end = monday - timedelta(days=1)
    with tenant_context(org):
        dispatch = ReportDispatch.objects.get()
        assert (dispatch.period_start, dispatch.period_end) == (monday - timedelta(days=7), end)
    # As of the end of M−1: 1,000 − 250 − 100 + 300 owed (the 5,000 of M is not there yet); the
    # first invoice is overdue; 300 invoiced and 100 collected in the week.
    assert "Organization A — AR summary" in text
    assert f"Outstanding {format_money(Decimal('950.00'), 'EUR')}" in text
    assert f"Overdue {format_money(Decimal('650.00'), 'EUR')} (1 invoice)" in text
    assert f"Invoiced in the period {format_money(Decimal('300.00'), 'EUR')}" in text
    assert f"Collected in the period {format_money(Decimal('100.00'), 'EUR')}" in text
    assert "5,000" not in text
    body = message.get_body(("plain",)).get_content()
    assert f"Outstanding: {format_money(Decimal('950.00'), 'EUR')}" in body
    with tenant_context(org):
        assert EmailDelivery.objects.filter(kind="report").count() == 1


def test_the_week_turns_at_midnight_in_the_organizations_time_zone(auckland_week, smtp_server):
    org, monday, world = auckland_week["org"], auckland_week["monday"], auckland_week["world"]
    subscribe(org, world.finance, report="aging", frequency="weekly", file_format="xlsx")
    sunday_night = local(org, monday - timedelta(days=1), 23, 30)  # Sunday 10:30 UTC
    assert sunday_night.astimezone(UTC).date() == monday - timedelta(days=1)
    run(org, sunday_night)
    monday_morning = local(org, monday, 0, 30)  # still Sunday (11:30) in UTC
    assert monday_morning.astimezone(UTC).weekday() == 6
    run(org, monday_morning)
    with tenant_context(org):
        ends = sorted(ReportDispatch.objects.values_list("period_end", flat=True))
    assert ends == [monday - timedelta(days=8), monday - timedelta(days=1)]
    assert deliver_all(org) == ["sent", "sent"]
    smtp_server.wait_for(2)
    from openpyxl import load_workbook

    sheets = {}
    for message in smtp_server.messages:
        assert message["To"] == world.finance.email
        [attachment] = list(message.iter_attachments())
        assert attachment.get_content_type() == (
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
        ws = load_workbook(io.BytesIO(attachment.get_content())).active
        sheets[ws["A1"].value] = [[c.value for c in row] for row in ws.iter_rows(min_row=3)]
    title = f"Aging report as of {(monday - timedelta(days=1)).isoformat()}, EUR"
    customer_row = next(r for r in sheets[title] if r[1] == "Kowhai Traders")
    assert Decimal(str(customer_row[-1])) == Decimal("950.00")


def test_a_subscriber_who_lost_the_role_gets_nothing(auckland_week, smtp_server):
    org, monday, world = auckland_week["org"], auckland_week["monday"], auckland_week["world"]
    subscribe(org, world.finance, report="summary", frequency="weekly", file_format="pdf")
    with tenant_context(org):
        Membership.objects.filter(organization=org, user=world.finance).update(role=Role.VIEWER)
    assert run(org, local(org, monday, 8)) == {"sent": 0, "skipped": 1}
    with tenant_context(org):
        dispatch = ReportDispatch.objects.get()
        assert dispatch.delivery is None and "no longer" in dispatch.skipped
        assert not EmailDelivery.objects.filter(kind="report").exists()
    assert smtp_server.envelopes == []


def test_monthly_periods_and_a_period_before_subscribing(auckland_week):
    org, world = auckland_week["org"], auckland_week["world"]
    assert subscriptions.last_complete_period("monthly", datetime(2026, 3, 1).date()) == (
        datetime(2026, 2, 1).date(), datetime(2026, 2, 28).date())
    assert subscriptions.last_complete_period("weekly", datetime(2026, 12, 7).date()) == (
        datetime(2026, 11, 30).date(), datetime(2026, 12, 6).date())
    assert subscriptions.last_complete_period("weekly", datetime(2026, 12, 6).date()) == (
        datetime(2026, 11, 23).date(), datetime(2026, 11, 29).date())
    with tenant_context(org):
        ReportSubscription.objects.create(organization=org, user=world.owner, report="summary",
                                          frequency="monthly", file_format="pdf")
    # Subscribed today: last month ended before, so nothing goes out until this month ends.
    assert run(org, timezone.now()) == {"sent": 0, "skipped": 0}


def test_the_hourly_task_enters_each_organization_and_leaks_nothing(auckland_week):
    org, world = auckland_week["org"], auckland_week["world"]
    subscribe(org, world.owner, report="summary", frequency="monthly", file_format="xlsx")
    subscribe(world.other_org, world.outsider, report="summary", frequency="monthly", file_format="pdf")
    done = send_report_emails()
    assert done.get(org.pk) == {"sent": 1, "skipped": 0}
    assert done.get(world.other_org.pk) == {"sent": 0, "skipped": 1}  # B has nothing posted: before its books
    with tenant_context(world.other_org):
        [skipped] = ReportDispatch.objects.all()
        assert skipped.delivery is None and skipped.skipped
        assert not EmailDelivery.objects.filter(kind="report").exists()
    with tenant_context(org):
        [delivery] = EmailDelivery.objects.filter(kind="report")
        assert delivery.recipients == [world.owner.email] and delivery.document.filename.endswith(".xlsx")
    assert send_report_emails() == {}


def test_settings_page_subscribe_duplicate_and_unsubscribe(world):
    client = world.client("finance")
    url = reverse("report_subscriptions", kwargs={"org_slug": world.org.slug})
    assert client.get(url).status_code == 200
    data = {"report": "aging", "frequency": "monthly", "file_format": "xlsx"}
    assert client.post(url, data).status_code == 302
    response = client.post(url, data)
    assert "already get this report" in response.content.decode()
    assert client.post(url, {"report": "nonsense", "frequency": "weekly", "file_format": "pdf"}).status_code == 200
    with tenant_context(world.org):
        [sub] = ReportSubscription.objects.all()
        assert (sub.user, sub.report, sub.frequency, sub.file_format) == (world.finance, "aging", "monthly", "xlsx")
    page = client.get(url).content.decode()
    assert "Aging by customer" in page and "Unsubscribe" in page
    # Another member cannot remove it (their own subscriptions only), a viewer cannot even look.
    delete = reverse("report_subscription_delete", kwargs={"org_slug": world.org.slug, "pk": sub.pk})
    assert world.client("owner").post(delete).status_code == 404
    assert world.client("viewer").get(url).status_code == 403
    assert client.post(delete).status_code == 302
    with tenant_context(world.org):
        assert not ReportSubscription.objects.exists()


def test_demo_data_has_a_subscription():
    from reports.demo import seed_demo_reports
    from tests.factories import make_org

    org, owner = make_org()
    with tenant_context(org, owner):
        result = seed_demo_reports(org, owner)
        sub = ReportSubscription.objects.get(pk=result["report_subscription"])
    assert (sub.user, sub.report, sub.frequency, sub.file_format) == (owner, "summary", "weekly", "pdf")


@pytest.mark.django_db(transaction=True)
def test_two_runs_at_once_send_the_period_once():
    """Two schedulers (or a retry of the hourly task) overlapping: the dispatch row's unique key
    makes the second wait for the first's commit and then send nothing."""
    from tests.concurrency import run_at_once
    from tests.factories import make_org

    org, owner = make_org(name="Overlap Ltd")
    with tenant_context(org, owner):
        customer = CustomerFactory(organization=org, name="Overlap customer")
        invoice(org, customer, "420.00", org.today() - timedelta(days=20), actor=owner)
    subscribe(org, owner, report="summary", frequency="weekly", file_format="pdf")
    results = run_at_once(2, lambda i: subscriptions.send_due(org), org=org)
    assert sorted(r["sent"] for r in results) == [0, 1]
    with tenant_context(org):
        assert ReportDispatch.objects.count() == 1
        assert EmailDelivery.objects.filter(kind="report").count() == 1


def test_a_report_that_fails_keeps_nothing_and_is_tried_again(auckland_week, monkeypatch):
    org, monday, world = auckland_week["org"], auckland_week["monday"], auckland_week["world"]
    subscribe(org, world.owner, report="aging", frequency="weekly", file_format="pdf")
    subscribe(org, world.finance, report="summary", frequency="weekly", file_format="pdf")
    real = subscriptions.render

    def broken(org_, sub, start, end):
        if sub.report == "aging":
            raise RuntimeError("renderer down")
        return real(org_, sub, start, end)

    monkeypatch.setattr(subscriptions, "render", broken)
    assert run(org, local(org, monday, 7)) == {"sent": 1, "skipped": 0, "failed": 1}
    with tenant_context(org):
        assert list(ReportDispatch.objects.values_list("user_id", flat=True)) == [world.finance.pk]
    monkeypatch.setattr(subscriptions, "render", real)
    assert run(org, local(org, monday, 8)) == {"sent": 1, "skipped": 0}
    with tenant_context(org):
        assert EmailDelivery.objects.filter(kind="report").count() == 2


def _words(text: str) -> str:
    return " ".join(text.split())


def _html_text(html: str) -> str:
    """The HTML's visible text, one space between words (what a reader sees, tags aside)."""
    from html import unescape

    body = re.sub(r"(?s)<head>.*?</head>", " ", html)
    return _words(unescape(re.sub(r"<[^>]+>", " ", body)))


SUMMARY_LABELS = ("Outstanding", "Overdue", "DSO", "Invoiced in the period", "Collected in the period",
                  "Forecast for the period", "Came in on it", "Difference (came in − forecast)")


def _figure(text: str, label: str) -> str:
    """The words after `label` up to the next label or section: the figure as printed."""
    stops = "|".join(re.escape(x) for x in (*SUMMARY_LABELS, "Collections vs forecast", "Top changes", "Aging",
                                            "The forecast as it stood", "In dispute", "Unapplied payments"))
    found = re.search(re.escape(label) + r" (.+?)(?= (?:" + stops + r")(?:\s|$)|$)", text)
    assert found, (label, text)
    return found.group(1)


def test_the_summary_is_html_with_the_text_alternative_and_the_pdf_and_their_figures_agree(auckland_week,
                                                                                           smtp_server):
    """Item 9's remaining gap: the e-mail is multipart (text + HTML alternative, PDF attached); the HTML
    shows outstanding, overdue, DSO, collections vs forecast and the top changes, each equal to the PDF's.

    Besides the fixture's Kowhai Traders (750.00 owed at the end of M−8, 950.00 at the end of M−1: +200),
    Rata Supplies owes 400.00 issued M−20, due M−4 and paid M−3 (−400 over the week). The forecast made
    at the end of M−8 (no paid invoice yet, so lateness 0: each invoice expected on its due date) expects
    Rata's 400.00 in the week (Kowhai's was due T−30, before it): forecast 400.00; came in on the invoices
    open then: Kowhai's 100.00 (M−2) + Rata's 400.00 = 500.00; difference +100.00."""
    org, monday, world = auckland_week["org"], auckland_week["monday"], auckland_week["world"]
    with tenant_context(org, world.owner):
        rata = CustomerFactory(organization=org, name="Rata Supplies")
        late = invoice(org, rata, "400.00", monday - timedelta(days=20), monday - timedelta(days=4), actor=world.owner)
        pay(org, rata, "400.00", monday - timedelta(days=3), allocation={late: "400.00"}, actor=world.owner)
    subscribe(org, world.owner, report="summary", frequency="weekly", file_format="pdf")
    assert run(org, local(org, monday, 7)) == {"sent": 1, "skipped": 0}
    assert deliver_all(org) == ["sent"]
    smtp_server.wait_for(1)
    [message] = smtp_server.messages
    assert [part.get_content_type() for part in message.walk()] == [
        "multipart/mixed", "multipart/alternative", "text/plain", "text/html", "application/pdf"]
    html = _html_text(message.get_body(("html",)).get_content())
    plain = _words(message.get_body(("plain",)).get_content())
    [attachment] = list(message.iter_attachments())
    pdf = _words(" ".join(pdf_pages_text(attachment.get_content())))

    def eur(v):
        return format_money(Decimal(v), "EUR")

    expected = {"Outstanding": eur("950.00"), "Overdue": f"{eur('650.00')} (1 invoice)",
                "Invoiced in the period": eur("300.00"), "Collected in the period": eur("500.00"),
                "Forecast for the period": eur("400.00"), "Came in on it": eur("500.00"),
                "Difference (came in − forecast)": eur("100.00")}
    for label, value in expected.items():
        assert _figure(html, label) == value, label
    for label in SUMMARY_LABELS:  # every figure of the HTML is the PDF's, DSO included
        assert _figure(html, label) == _figure(pdf, label), label
    assert f"Kowhai Traders {eur('750.00')} → {eur('950.00')} +{eur('200.00')}" in html
    assert f"Rata Supplies {eur('400.00')} → {eur('0.00')} {eur('-400.00')}" in html
    for line in (f"Kowhai Traders {eur('750.00')} {eur('950.00')} +{eur('200.00')}",
                 f"Rata Supplies {eur('400.00')} {eur('0.00')} {eur('-400.00')}"):
        assert line in pdf
    assert html.index("Kowhai Traders") < html.index("Rata Supplies")  # increases first
    assert f"Forecast for the period: {eur('400.00')}; came in on it: {eur('500.00')}" in plain
    assert f"Rata Supplies: {eur('400.00')} → {eur('0.00')} ({eur('-400.00')})" in plain
