"""Issue 17 item 2: exchange rates per organization: lookup, hand entry, ECB XML/CSV and generic CSV
import, the scheduled fetch from a configured URL (a local HTTP server here), and bad input (unknown
or withdrawn currency, zero/negative/absurd rate, a jump that needs confirmation, a missing rate,
a file in the wrong format): a clear message and nothing changed."""

import datetime
import http.server
import threading
from decimal import Decimal

import pytest
from django.test import Client
from django.urls import reverse

from accounts import fx
from accounts.models import ExchangeRate, RateSource, Role
from accounts.tasks import fetch_exchange_rates
from ledger_site.tenancy import tenant_context
from tests.factories import add_member, make_org

pytestmark = pytest.mark.django_db
D = Decimal
DAY = datetime.date(2026, 12, 4)  # a Friday

ECB_DAILY = b"""<?xml version="1.0" encoding="UTF-8"?>
<gesmes:Envelope xmlns:gesmes="http://www.gesmes.org/xml/2002-08-01" xmlns="http://www.ecb.int/vocabulary/2002-08-01/eurofxref">
  <gesmes:subject>Reference rates</gesmes:subject>
  <gesmes:Sender><gesmes:name>European Central Bank</gesmes:name></gesmes:Sender>
  <Cube>
    <Cube time='2026-12-04'>
      <Cube currency='USD' rate='1.0850'/>
      <Cube currency='JPY' rate='162.00'/>
      <Cube currency='GBP' rate='0.8500'/>
      <Cube currency='INR' rate='90.125'/>
    </Cube>
  </Cube>
</gesmes:Envelope>"""

ECB_HIST = b"""<?xml version="1.0" encoding="UTF-8"?>
<gesmes:Envelope xmlns:gesmes="http://www.gesmes.org/xml/2002-08-01" xmlns="http://www.ecb.int/vocabulary/2002-08-01/eurofxref">
  <Cube>
    <Cube time="2007-12-31"><Cube currency="USD" rate="1.4721"/><Cube currency="CYP" rate="0.585274"/></Cube>
    <Cube time="2007-12-28"><Cube currency="USD" rate="1.4690"/><Cube currency="CYP" rate="0.58527"/></Cube>
  </Cube>
</gesmes:Envelope>"""

ECB_CSV = b"Date, USD, JPY, CYP, \n04 December 2026, 1.0850, 162.00, N/A, \n"


@pytest.fixture
def fx_org():
    org, owner = make_org(name="Shop", slug="shop")
    client = Client()
    client.force_login(add_member(org, Role.FINANCE))
    return org, client


def rates(org):
    with tenant_context(org):
        return {(r.day, r.currency): r.rate for r in ExchangeRate.objects.filter(organization=org)}


def save(org, rows, confirm=False, source=RateSource.MANUAL):
    with tenant_context(org):
        return fx.save_rates(org, rows, source, confirm=confirm)


# --------------------------------------------------------------------------- files

def test_ecb_daily_xml_for_a_euro_organization(fx_org):
    org, _ = fx_org
    parsed = fx.parse_ecb_xml(ECB_DAILY, "EUR")
    assert save(org, parsed.rows, source=parsed.source) == 4
    got = rates(org)
    assert got[(DAY, "USD")] == (D(1) / D("1.0850")).quantize(D("1e-12"))
    assert got[(DAY, "JPY")] == (D(1) / D("162")).quantize(D("1e-12"))
    with tenant_context(org):
        assert fx.to_base(org, D("1085.00"), "USD", DAY) == D("1000.00")
        assert fx.to_base(org, D("16200"), "JPY", DAY + datetime.timedelta(days=2)) == D("100.00")  # Sunday


def test_ecb_rates_are_crossed_into_another_base_currency():
    parsed = fx.parse_ecb_xml(ECB_DAILY, "USD")
    by_code = {r.currency: r.rate for r in parsed.rows}
    assert "USD" not in by_code
    assert by_code["EUR"] == D("1.0850")
    assert by_code["JPY"] == D("1.0850") / D("162.00")
    with pytest.raises(fx.RateError, match="no AED rate for 2026-12-04"):
        fx.parse_ecb_xml(ECB_DAILY, "AED")


def test_ecb_history_skips_withdrawn_currencies_and_says_so(fx_org):
    org, _ = fx_org
    parsed = fx.parse_file(ECB_HIST, "EUR")
    assert parsed.skipped == ["CYP"] and len(parsed.rows) == 2


def test_ecb_csv_and_generic_csv():
    parsed = fx.parse_file(ECB_CSV, "EUR")
    assert {r.currency for r in parsed.rows} == {"USD", "JPY"} and parsed.skipped == []  # CYP: N/A
    assert parsed.rows[0].day == DAY
    generic = fx.parse_file(b"date,currency,rate\n2026-12-04,USD,0.9216\n2026-12-04,inr,0.0111\n", "EUR")
    assert [(r.currency, r.rate, r.line) for r in generic.rows] == [("USD", D("0.9216"), 2), ("INR", D("0.0111"), 3)]
    assert generic.source == RateSource.CSV


@pytest.mark.parametrize("data, message", [
    (b'{"USD": 1.08}', "Unknown rates file"),
    (b"<html><body>rates</body></html>", "not the ECB's euro reference rates"),
    (b"<?xml version='1.0'?><!DOCTYPE x [<!ENTITY a 'b'>]><x>&a;</x>", "not a readable XML file"),
    (b"\xff\xfe\x00bad", "not UTF-8"),
    (b"date,currency,rate\n04/12/2026,USD,1.0\n", "is not a date"),
    (b"date,currency,rate\n2026-12-04,USD,one\n", "is not a number"),
])
def test_a_rates_file_in_the_wrong_format_is_refused(data, message):
    with pytest.raises(fx.RateError, match=message):
        fx.parse_file(data, "EUR")


# --------------------------------------------------------------------------- checks

@pytest.mark.parametrize("currency, rate, message", [
    ("XYZ", D("1"), "not an active ISO 4217"),
    ("HRK", D("0.13"), "HRK was withdrawn"),
    ("EUR", D("1"), "EUR is the base currency"),
    ("USD", D("0"), "must be above zero"),
    ("USD", D("-0.9"), "must be above zero"),
    ("USD", D("5e9"), "is absurd"),
    ("USD", D("1e-12"), "is absurd"),
])
def test_bad_rates_are_refused_and_nothing_is_saved(fx_org, currency, rate, message):
    org, _ = fx_org
    rows = [fx.RateRow(DAY, "GBP", D("1.17")), fx.RateRow(DAY, currency, rate)]
    with pytest.raises(fx.RateError) as e:
        save(org, rows)
    assert any(message in p for p in e.value.problems)
    assert rates(org) == {}


def test_a_jump_beyond_the_factor_needs_confirmation(fx_org, settings):
    org, _ = fx_org
    save(org, [fx.RateRow(DAY, "USD", D("0.92"))])
    later = DAY + datetime.timedelta(days=3)
    with pytest.raises(fx.RateNeedsConfirmation, match="move more than 1.5×") as e:
        save(org, [fx.RateRow(later, "USD", D("9.2"))])
    assert "USD 2026-12-07: 9.2 against 0.92 on 2026-12-04." in e.value.problems[0]
    assert len(rates(org)) == 1
    save(org, [fx.RateRow(later, "USD", D("1.2"))])  # within the factor
    settings.FX_RATE_JUMP_FACTOR = "1.1"
    with pytest.raises(fx.RateNeedsConfirmation):
        save(org, [fx.RateRow(later + datetime.timedelta(days=1), "USD", D("1.5"))])
    save(org, [fx.RateRow(later + datetime.timedelta(days=1), "USD", D("1.5"))], confirm=True)
    assert len(rates(org)) == 3


def test_a_missing_rate_names_the_currency_and_the_day(fx_org):
    org, _ = fx_org
    save(org, [fx.RateRow(DAY, "USD", D("0.92"))])
    with tenant_context(org):
        assert fx.rate_on(org, "USD", DAY + datetime.timedelta(days=7)) == D("0.92")
        assert fx.rate_on(org, "EUR", DAY) == D(1)
        with pytest.raises(fx.MissingRate, match=r"no USD exchange rate for 2026-12-12.*Nothing was posted"):
            fx.rate_on(org, "USD", DAY + datetime.timedelta(days=8))
        with pytest.raises(fx.MissingRate, match="no USD exchange rate for 2026-12-03"):
            fx.rate_on(org, "USD", DAY - datetime.timedelta(days=1))


def test_rates_are_per_organization(fx_org):
    org, _ = fx_org
    other, _owner = make_org(name="Other", slug="other")
    save(org, [fx.RateRow(DAY, "USD", D("0.92"))])
    with tenant_context(other):
        assert not ExchangeRate.objects.exists()
        with pytest.raises(fx.MissingRate):
            fx.rate_on(other, "USD", DAY)


# --------------------------------------------------------------------------- the page

def test_hand_entry_and_upload_on_the_page(fx_org):
    org, client = fx_org
    url = reverse("exchange_rates", kwargs={"org_slug": org.slug})
    assert client.get(url).status_code == 200
    form = {"action": "add", "add-day": "2026-12-04", "add-currency": "USD", "add-rate": "0.92"}
    assert client.post(url, form).status_code == 302
    jumped = {**form, "add-day": "2026-12-07", "add-rate": "92"}
    page = client.post(url, jumped)
    assert page.status_code == 400
    assert "Tick the confirmation" in page.content.decode()
    assert client.post(url, {**jumped, "add-confirm": "on"}).status_code == 302
    bad = client.post(url, {"action": "upload", "upload-file": _upload(b"date,currency,rate\n2026-12-04,XYZ,1\n")})
    assert bad.status_code == 400 and "not an active ISO 4217" in bad.content.decode()
    # The ECB file's 2026-12-04 replaces the hand-entered USD rate of that day.
    assert client.post(url, {"action": "upload", "upload-file": _upload(ECB_DAILY, "eurofxref-daily.xml")}
                       ).status_code == 302
    got = rates(org)
    assert len(got) == 5 and got[(DAY, "INR")] == (D(1) / D("90.125")).quantize(D("1e-12"))


def _upload(data, name="rates.csv"):
    from django.core.files.uploadedfile import SimpleUploadedFile

    return SimpleUploadedFile(name, data)


# --------------------------------------------------------------------------- the scheduled fetch

@pytest.fixture
def rates_server():
    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            self.send_response(200)
            self.send_header("Content-Type", "application/xml")
            self.end_headers()
            self.wfile.write(ECB_DAILY)

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}/eurofxref-daily.xml"
    server.shutdown()


def test_scheduled_fetch_saves_rates_from_the_configured_url(fx_org, rates_server, settings):
    org, _ = fx_org
    dollars, _o = make_org(name="Dollars", slug="dollars", base_currency="USD")
    dirhams, _o = make_org(name="Dirhams", slug="dirhams", base_currency="AED")
    settings.FX_RATES_URL = ""
    assert fetch_exchange_rates() == {"skipped": "FX_RATES_URL is not set"}
    settings.FX_RATES_URL = rates_server
    result = fetch_exchange_rates()
    assert result["saved"] == 8
    assert "no AED rate" in result["refused"]["dirhams"][0]
    assert rates(dollars)[(DAY, "EUR")] == D("1.0850")
    assert len(rates(org)) == 4 and rates(dirhams) == {}


def test_fetch_refuses_a_non_http_url():
    with pytest.raises(fx.RateError, match="http"):
        fx.fetch("file:///etc/passwd")


def test_the_rates_page_shows_fifty_rows_a_page_newest_first(fx_org):
    org, client = fx_org
    save(org, [fx.RateRow(DAY - datetime.timedelta(days=n), "USD", D("0.92")) for n in range(60)])
    url = reverse("exchange_rates", kwargs={"org_slug": org.slug})
    first = client.get(url).content.decode()
    assert first.count('<td class="num">0.92</td>') == 50 and "Page 1 of 2" in first
    second = client.get(url, {"page": "2"}).content.decode()
    assert second.count('<td class="num">0.92</td>') == 10


def test_a_rate_series_answers_what_rate_on_answers_for_every_day():
    org, _ = make_org(name="Series", slug="series")
    today = datetime.date.today()
    start = today - datetime.timedelta(days=60)
    with tenant_context(org):
        # Rates on scattered days, with a gap longer than the allowed age in the middle.
        days = [0, 1, 5, 12, 13, 40, 44, 58]
        fx.save_rates(org, [fx.RateRow(start + datetime.timedelta(days=n), "USD", Decimal("0.9") + Decimal(n) / 1000)
                            for n in days], RateSource.MANUAL, confirm=True)
        series = fx.rate_series(org, "USD", start, today)
        for n in range(61):
            day = start + datetime.timedelta(days=n)
            try:
                expected = fx.rate_on(org, "USD", day)
            except fx.MissingRate:
                with pytest.raises(fx.MissingRate, match=f"no USD exchange rate for {day.isoformat()}"):
                    series(day)
            else:
                assert series(day) == expected, day
