"""Scheduled report e-mails (issue 20 item 9).

An owner or finance member subscribes (`ReportSubscription`, Settings → Report e-mails) to a
report — the AR summary or the aging by customer — weekly or monthly, as a PDF or an XLSX file.
The hourly schedule "reports: scheduled report e-mails" (`reports.tasks.send_report_emails`)
enters each organization's context in turn (accounts.org_directory) and calls `send_due`:

* **the period** is the last complete one in the organization's time zone
  (`Organization.today()`): the ISO week Monday–Sunday before this one, or the month before this
  one; the report is as of the end of its last day. A period that ended before the subscription
  was made is not sent (the first e-mail follows the first period end after subscribing), and a
  period missed while the scheduler was down is not sent late: only the latest one is considered.
* **exactly once**: a `ReportDispatch` row with the idempotency key
  (user, report, frequency, format, period start) is inserted first; its unique constraint makes a
  second run, or an overlapping one, find it and send nothing. The attachment is stored and the
  e-mail queued through invoicing's public API (`invoicing.outgoing.store_pdf` / `queue_email`,
  kind "report") in the same transaction, so the e-mail exists exactly when its dispatch row does;
  invoicing's delivery task sends it (retries and the delivery log are its).
* **to whom**: the subscriber's own address, and only while they are still an owner or finance
  member of the organization when the period is sent; otherwise the period is recorded as skipped
  with the reason and nothing is sent.
"""

import hashlib
import logging
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal

from django.conf import settings as django_settings
from django.db import IntegrityError, transaction
from django.template.loader import render_to_string
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from accounts.locale import format_day
from accounts.models import Membership, Role
from accounts.money import format_money
from invoicing.outgoing import queue_email, render_pdf, store_pdf
from reports import dashboard as dash
from reports import exports
from reports.aging import AgingQuery, aging
from reports.asof import org_currencies
from reports.dso import Unavailable
from reports.forecast_accuracy import period_forecast
from reports.models import (
    ReportDispatch,
    ReportFormat,
    ReportFrequency,
    ReportSettings,
    ReportSubscription,
    SubscribedReport,
)
from reports.period_changes import top_changes
from reports.series import series

logger = logging.getLogger(__name__)
SUBSCRIBER_ROLE = Role.FINANCE  # owners and finance staff may subscribe (and keep receiving)
KIND = "report"  # invoicing's DeliveryKind / DocumentKind for these e-mails


def last_complete_period(frequency: str, today: date) -> tuple[date, date]:
    """(first day, last day) of the latest week (ISO, Monday–Sunday) or month that ended before `today`."""
    if frequency == ReportFrequency.WEEKLY:
        end = today - timedelta(days=today.isoweekday())
        return end - timedelta(days=6), end
    if frequency == ReportFrequency.MONTHLY:
        end = today.replace(day=1) - timedelta(days=1)
        return end.replace(day=1), end
    raise ValueError(frequency)


def dispatch_key(sub: ReportSubscription, start: date) -> str:
    return f"{sub.user_id}:{sub.report}:{sub.frequency}:{sub.file_format}:{start.isoformat()}"


@dataclass
class Attachment:
    filename: str
    content: bytes
    summary: str  # the e-mail's text: the headline figures
    html: str = ""  # the same figures as the e-mail's HTML body


def _currency(org) -> str:
    """The dashboard's default currency (its first)."""
    currencies = org_currencies(org)
    return currencies[0] if currencies else org.base_currency


def summary_figures(org, start: date, end: date) -> dict:
    """The AR summary as of the end of `end`: the dashboard as it stood then (reports.dashboard),
    with what was invoiced and collected in the period (the daily flow), the period's forecast (made at
    the end of the day before it) against what came in on it, and the customers whose balance moved most.
    The PDF, the XLSX, the e-mail's text and its HTML are all rendered from this one dict."""
    cur = _currency(org)
    d = dash.build(org, cur, as_of=end)  # today's dashboard if `end` is today or later
    flows = series(org, cur, "day", start, end)
    return {"d": d, "currency": cur, "start": start, "end": end,
            "invoiced": sum((p.invoiced for p in flows), Decimal(0)),
            "collected": sum((p.collected for p in flows), Decimal(0)),
            "aging_rows": list(zip(d.buckets, d.bucket_amounts, strict=True)),
            "vs_forecast": period_forecast(org, cur, start, end),
            "changes": top_changes(org, cur, start, end)}


def summary_text(org, f: dict) -> str:
    d, cur, vf = f["d"], f["currency"], f["vs_forecast"]
    dso = (_("%(days)s days") % {"days": d.dso}) if d.dso is not None else (d.dso_reason or _("not computable"))
    lines = [
        _("%(org)s: accounts receivable as of %(day)s") % {"org": org.name, "day": format_day(f["end"], org.locale)},
        "",
        _("Outstanding: %(v)s") % {"v": format_money(d.outstanding, cur)},
        _("Overdue: %(v)s on %(n)s invoices") % {"v": format_money(d.overdue, cur), "n": d.overdue_count},
        _("DSO: %(v)s") % {"v": dso},
        _("Invoiced in the period: %(v)s") % {"v": format_money(f["invoiced"], cur)},
        _("Collected in the period: %(v)s") % {"v": format_money(f["collected"], cur)},
        _("Forecast for the period: %(v)s; came in on it: %(c)s (difference %(x)s)") % {
            "v": format_money(vf.forecast, cur), "c": format_money(vf.came_in, cur),
            "x": format_money(vf.difference, cur)},
    ]
    for title, rows in ((_("Largest increases:"), f["changes"].increases),
                        (_("Largest decreases:"), f["changes"].decreases)):
        if rows:
            lines += ["", title] + [f"  {c.name}: {format_money(c.before, cur)} → {format_money(c.after, cur)} "
                                    f"({format_money(c.change, cur)})" for c in rows]
    return "\n".join(lines)


def _summary_xlsx(org, f: dict) -> bytes:
    from openpyxl.styles import Font

    from ledger_site.exports import xlsx_append, xlsx_bytes, xlsx_workbook

    d, cur = f["d"], f["currency"]
    wb, ws = xlsx_workbook(_("AR summary"))
    xlsx_append(ws, [_("%(org)s: AR summary as of %(d)s, %(cur)s") % {
        "org": org.name, "d": f["end"].isoformat(), "cur": cur}])
    ws["A1"].font = Font(bold=True, size=13)
    rows = [
        [_("Period"), f"{f['start'].isoformat()} – {f['end'].isoformat()}"],
        [_("Outstanding"), d.outstanding], [_("Overdue"), d.overdue], [_("Overdue invoices"), d.overdue_count],
        [_("DSO (days)"), d.dso if d.dso is not None else (d.dso_reason or _("not computable"))],
        [_("Invoiced in the period"), f["invoiced"]], [_("Collected in the period"), f["collected"]],
        [_("Forecast for the period"), f["vs_forecast"].forecast], [_("Came in on it"), f["vs_forecast"].came_in],
        [], [_("Largest changes"), _("Before"), _("After"), _("Change")],
        *[[c.name, c.before, c.after, c.change] for c in f["changes"].increases + f["changes"].decreases],
        [], [_("Aging"), _("Amount")],
        *[[b.label, amount] for b, amount in f["aging_rows"]],
    ]
    for row in rows:
        xlsx_append(ws, row)
    ws.column_dimensions["A"].width = 30
    ws.column_dimensions["B"].width = 24
    return xlsx_bytes(wb)


def render(org, sub: ReportSubscription, start: date, end: date) -> Attachment:
    """The attachment for one period (raises reports.dso.Unavailable before the books start)."""
    stem = f"{sub.report}-{org.slug}-{end.isoformat()}"
    with translation.override(django_settings.LANGUAGE_CODE):
        f = summary_figures(org, start, end)
        text = summary_text(org, f)
        html = render_to_string("reports/email/summary.html", {"org": org, **f})
        if sub.report == SubscribedReport.AGING:
            rs = ReportSettings.for_org(org)
            report = aging(org, AgingQuery(as_of=end, currency=f["currency"], basis=rs.aging_basis,
                                           limits=rs.limits, page_size=None))
            content = (exports.aging_xlsx(report) if sub.file_format == ReportFormat.XLSX
                       else exports.aging_pdf(report, org))
        elif sub.file_format == ReportFormat.XLSX:
            content = _summary_xlsx(org, f)
        else:
            content = render_pdf(render_to_string("reports/pdf/summary.html", {"org": org, **f}))
    return Attachment(f"{stem}.{sub.file_format}", content, text, html)


def still_allowed(sub: ReportSubscription) -> bool:
    """The subscriber is still an owner or finance member of the organization."""
    membership = Membership.objects.filter(organization_id=sub.organization_id, user_id=sub.user_id).first()
    return membership is not None and membership.has_role(SUBSCRIBER_ROLE)


def send_due(org, now: datetime | None = None) -> dict:
    """Send every subscription's latest complete period that was not sent yet (the caller is in
    the organization's tenant context). Returns {"sent": n, "skipped": n} (and "failed": n when a
    report could not be made: nothing of it was kept, so the next hourly run tries that period again)."""
    now = now or timezone.now()
    today = org.today(now)
    done = {"sent": 0, "skipped": 0}
    for sub in ReportSubscription.objects.filter(organization=org).select_related("user").order_by("pk"):
        start, end = last_complete_period(sub.frequency, today)
        if end < timezone.localtime(sub.created_at, org.zone).date():
            continue  # the first period ends after subscribing
        try:
            outcome = _send_one(org, sub, start, end)
        except Exception:  # one report's failure must not stop the others; its transaction rolled back
            logger.exception("report e-mail %s of organization %s for %s failed", sub.pk, org.pk, end)
            outcome = "failed"
        if outcome:
            done[outcome] = done.get(outcome, 0) + 1
    return done


def _send_one(org, sub: ReportSubscription, start: date, end: date) -> str | None:
    key = dispatch_key(sub, start)
    with transaction.atomic():
        try:
            with transaction.atomic():
                dispatch = ReportDispatch.objects.create(organization=org, key=key, user_id=sub.user_id,
                                                         period_start=start, period_end=end)
        except IntegrityError:  # this period was handled (by an earlier or a concurrent run)
            return None
        if not still_allowed(sub):
            dispatch.skipped = _("The subscriber is no longer an owner or finance member.")
        else:
            try:
                attachment = render(org, sub, start, end)
            except Unavailable as e:
                dispatch.skipped = str(e)[:300]
        if dispatch.skipped:
            dispatch.save(update_fields=["skipped"])
            return "skipped"
        state = hashlib.sha256(f"report-email-v1|{org.pk}|{key}".encode()).hexdigest()
        document = store_pdf(org.pk, KIND, state, lambda: attachment.content, filename=attachment.filename)
        label = dict(SubscribedReport.choices)[sub.report]
        period = _("week of %(d)s") % {"d": format_day(start, org.locale)} \
            if sub.frequency == ReportFrequency.WEEKLY else f"{start:%Y-%m}"
        subject = _("%(org)s: %(report)s, %(period)s") % {"org": org.name, "report": label, "period": period}
        body = "\n\n".join([attachment.summary, _("The report is attached (%(file)s). You get this e-mail because "
                                                  "you subscribed in Settings → Report e-mails.")
                            % {"file": attachment.filename}])
        dispatch.delivery = queue_email(org.pk, KIND, recipients=[sub.user.email], subject=subject, body=body,
                                        document=document, html=attachment.html)
        dispatch.save(update_fields=["delivery"])
    return "sent"
