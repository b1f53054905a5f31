"""Bank accounts, statement import and the actions on bank lines.

    stage_import(bank_account, filename=, data=, ...)   parse, check, hold as a preview (no lines yet)
    commit_import(statement_import, actor=)             add the lines not seen before, once
    confirm_match(line, suggestion_key, actor=)         link or record the payment (payments service)
    confirm_split(line, advice, locale, expected=)      one payment split as a remittance advice says
    unmatch_line(line, reason=, actor=)                 undo: reverse the payment it recorded
    post_line(line, account=, reason=, actor=)          a fee or transfer, through the ledger's door
    reconcile_lines(bank_account, ids, actor=)          matched → reconciled (who, when)

Every action is one transaction and takes the bank line's row lock first (then the payments
service's own lock order: customer, invoices, payment, ledger head). A second confirm of the same
line waits for the first, then finds the line matched and is refused: a receipt posts once. The
payment it records carries the key `bankline-<line id>-<match count>`, so even a retried request
that slipped past the row lock could not post twice.
"""

import hashlib
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Count, Sum
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts import ledger
from accounts.ledger import LedgerError, Line
from accounts.models import Account, AccountType, Customer
from accounts.money import MoneyError, check_exact, format_money
from invoicing.models import Invoice, WriteOff
from invoicing.services import WRITE_OFF_KINDS, reverse_write_off, write_off
from ledger_site.tenancy import organization_of
from payments.matching import MatchContext, Suggestion, bank_amount, in_bank_currency, refund_in_bank_currency
from payments.models import Payment, PaymentMethod
from payments.models_bank import BankAccount, BankLine, BankLineEvent, BankLineStatus, StatementImport
from payments.remittance import plan_split
from payments.services import NONE, record_payment, reverse_payment
from payments.statements import (
    CsvMapping,
    ParsedStatement,
    StatementError,
    detect_format,
    parse,
    statement_from_json,
    statement_to_json,
)

ZERO = Decimal(0)
MAX_BYTES = getattr(settings, "BANK_STATEMENT_MAX_BYTES", 20 * 1024 * 1024)
# Files with more lines than this are committed by a background job, in batches, with progress.
BACKGROUND_LINES = getattr(settings, "BANK_IMPORT_BACKGROUND_LINES", 2000)
BATCH = 1000


class BankError(LedgerError):
    """A refused bank action; nothing was changed."""


# --- Bank accounts -------------------------------------------------------------------------------

def ledger_accounts(org):
    """The asset accounts a bank account can be booked on (Bank, or another asset account)."""
    return Account.objects.filter(organization=org, type=AccountType.ASSET).exclude(system_key="ar").order_by("code")


def create_bank_account(org, *, name: str, currency: str, account: Account, iban: str = "") -> BankAccount:
    name, currency = (name or "").strip(), (currency or "").strip().upper()
    if not name:
        raise BankError(_("Give the bank account a name."))
    if len(currency) != 3 or not currency.isalpha():
        raise BankError(_("Use a three-letter ISO 4217 currency code, e.g. EUR."))
    if account.organization_id != org.pk or not ledger_accounts(org).filter(pk=account.pk).exists():
        raise BankError(_("Choose one of this organization's asset accounts (e.g. 1000 Bank)."))
    if BankAccount.objects.filter(organization=org, name__iexact=name).exists():
        raise BankError(_("A bank account named %(name)s exists already.") % {"name": name})
    if BankAccount.objects.filter(organization=org, account=account, currency=currency).exists():
        raise BankError(_("%(acc)s already has a %(cur)s bank account; one ledger account per bank account and "
                          "currency keeps the reconciliation exact.") % {"acc": account, "cur": currency})
    return BankAccount.objects.create(organization=org, name=name, currency=currency, account=account,
                                      iban="".join(iban.split()).upper()[:40])


# --- Import --------------------------------------------------------------------------------------

@dataclass
class Summary:
    statement: ParsedStatement
    new: list  # ParsedLine not yet on the account
    duplicates: int
    balance_note: str = ""

    @property
    def new_credits(self):
        return sum((li.amount for li in self.new if li.amount > 0), ZERO)

    @property
    def new_debits(self):
        return sum((li.amount for li in self.new if li.amount < 0), ZERO)


def _check(bank_account: BankAccount, statement: ParsedStatement) -> None:
    cur = bank_account.currency
    if statement.currency and statement.currency != cur:
        raise StatementError(_("The statement is in %(other)s; the bank account %(name)s is in %(cur)s. "
                               "Nothing was imported.") % {"other": statement.currency, "name": bank_account.name,
                                                            "cur": cur})
    latest = organization_of(bank_account).today() + ledger_ahead()
    for n, line in enumerate(statement.lines, start=1):
        if line.currency and line.currency != cur:
            raise StatementError(_("Line %(n)s (%(day)s) is in %(other)s; the bank account is in %(cur)s. "
                                   "Nothing was imported.") % {"n": n, "day": line.booking_date, "other": line.currency,
                                                               "cur": cur})
        line.currency = cur
        try:
            check_exact(line.amount, cur)
        except MoneyError:
            raise StatementError(_("Line %(n)s: %(amount)s has more decimals than %(cur)s allows.")
                                 % {"n": n, "amount": line.amount, "cur": cur}) from None
        if line.booking_date > latest:
            raise StatementError(_("Line %(n)s is booked on %(day)s, in the future.") % {"n": n,
                                                                                          "day": line.booking_date})
    theirs, ours = statement.account_id, bank_account.iban
    if theirs and ours and not (ours.endswith(theirs) or theirs.endswith(ours)):
        raise StatementError(_("This statement is for account %(theirs)s, not %(ours)s (%(name)s). Nothing was "
                               "imported.") % {"theirs": theirs, "ours": ours, "name": bank_account.name})


def ledger_ahead():
    from datetime import timedelta

    return timedelta(days=settings.PAYMENT_FUTURE_DAYS)


def read_statement(bank_account: BankAccount, data: bytes, fmt: str, mapping: dict | None) -> ParsedStatement:
    csv_mapping = CsvMapping.from_dict(mapping) if fmt == "csv" else None
    statement = parse(data, fmt, csv_mapping, currency=bank_account.currency)
    _check(bank_account, statement)
    return statement


def held_statement(imp: StatementImport) -> ParsedStatement:
    """The statement of a held file: as the preview parsed it (kept as JSON on the import), checked
    again against the bank account as it is now; a file held before that was kept is parsed again."""
    if imp.parsed:
        statement = statement_from_json(imp.parsed)
        _check(imp.bank_account, statement)
        return statement
    return read_statement(imp.bank_account, bytes(imp.content), imp.format, imp.mapping)


def summarize(imp: StatementImport) -> Summary:
    """What committing would add: the held statement against the lines there now."""
    statement = held_statement(imp)
    keys = [li.dedupe_key for li in statement.lines]
    existing = set(BankLine.objects.filter(organization_id=imp.organization_id, bank_account=imp.bank_account,
                                           dedupe_key__in=keys).values_list("dedupe_key", flat=True))
    new = [li for li in statement.lines if li.dedupe_key not in existing]
    note = ""
    if statement.opening_balance is not None and statement.closing_balance is not None:
        moved = sum((li.amount for li in statement.lines), ZERO)
        if statement.opening_balance + moved != statement.closing_balance:
            note = _("Opening %(o)s plus the lines (%(m)s) is not the closing balance %(c)s: the file may hold "
                     "pending entries or be incomplete.") % {
                "o": format_money(statement.opening_balance, imp.bank_account.currency),
                "m": format_money(moved, imp.bank_account.currency),
                "c": format_money(statement.closing_balance, imp.bank_account.currency)}
    return Summary(statement=statement, new=new, duplicates=len(statement.lines) - len(new), balance_note=note)


def stage_import(bank_account: BankAccount, *, filename: str, data: bytes, fmt: str = "", mapping: dict | None = None,
                 actor=None) -> StatementImport:
    """Parse and check the file and hold it as a preview. Raises StatementError; nothing is kept then."""
    if len(data) > MAX_BYTES:
        raise StatementError(_("The file is %(size).1f MB; at most %(max).0f MB is accepted. Export a shorter "
                               "period.") % {"size": len(data) / 2**20, "max": MAX_BYTES / 2**20})
    if not data.strip():
        raise StatementError(_("The file is empty."))
    fmt = fmt or detect_format(data, filename)
    mapping = mapping or {}
    statement = read_statement(bank_account, data, fmt, mapping)
    if not statement.lines:
        raise StatementError(_("The statement holds no booked transaction."))
    with transaction.atomic():
        imp = StatementImport.objects.create(
            organization_id=bank_account.organization_id, bank_account=bank_account, filename=filename[:200],
            format=fmt, mapping=mapping if fmt == "csv" else {}, content=data,
            sha256=hashlib.sha256(data).hexdigest(), statement_id=statement.statement_id,
            opening_balance=statement.opening_balance, closing_balance=statement.closing_balance,
            date_from=statement.date_from, date_to=statement.date_to, lines_total=len(statement.lines),
            parsed=statement_to_json(statement), created_by=actor)
        if fmt == "csv":
            BankAccount.objects.filter(pk=bank_account.pk).update(csv_mapping=mapping)
    return imp


def _new_lines(imp: StatementImport, lines) -> list[BankLine]:
    return [BankLine(organization_id=imp.organization_id, bank_account_id=imp.bank_account_id, statement=imp,
                     dedupe_key=li.dedupe_key, booking_date=li.booking_date, value_date=li.value_date,
                     amount=li.amount, currency=li.currency, bank_reference=li.bank_reference,
                     end_to_end_id=li.end_to_end_id, creditor_reference=li.creditor_reference,
                     remittance=li.remittance, counterparty_name=li.counterparty_name,
                     counterparty_iban=li.counterparty_iban)
            for li in lines]


def start_import(imp: StatementImport, *, actor=None) -> StatementImport:
    """Commit now, or, for a file of more than BACKGROUND_LINES lines, hand it to a background
    job (django-q2) that commits in batches and counts its progress. Claimed once: the status
    moves preview → importing in one conditional UPDATE, so a double click starts one job. The
    claim and the task row are written in one transaction (ledger_site.queue.enqueue), so the
    job exists exactly when the claim does."""
    if imp.lines_total <= BACKGROUND_LINES:
        return commit_import(imp, actor=actor)
    from ledger_site.queue import enqueue

    with transaction.atomic():
        claimed = StatementImport.objects.filter(pk=imp.pk, status=StatementImport.Status.PREVIEW).update(
            status=StatementImport.Status.IMPORTING, progress=0, job_error="")
        if not claimed:
            raise BankError(_("This file is already being imported, or was imported."))
        if not enqueue("payments.bank.run_import_job", imp.organization_id, imp.pk, getattr(actor, "pk", None),
                       task_name=f"bank-import-{imp.pk}", group=f"bank-import-{imp.organization_id}"):
            raise BankError(_("The background import could not be started; try again."))
    imp.refresh_from_db()
    return imp


def run_import_job(org_id: int, import_id: int, user_id: int | None = None) -> int:
    """The background commit: parse the held file once, then add the new lines BATCH at a time,
    each batch its own transaction under the bank account's lock (duplicates checked again per
    batch, so an overlapping import running alongside never doubles a line), the progress saved
    after each. If it stops (a crash, a lost connection), the import goes back to preview with
    the reason; importing again adds only what is still missing."""
    from ledger_site.tenancy import tenant_context

    with tenant_context(org_id, user_id):
        imp = StatementImport.objects.select_related("bank_account").get(pk=import_id)
        if imp.status != StatementImport.Status.IMPORTING:
            return 0
        try:
            statement = held_statement(imp)
            added = 0
            for start in range(0, len(statement.lines), BATCH):
                chunk = statement.lines[start:start + BATCH]
                with transaction.atomic():
                    BankAccount.objects.select_for_update().get(pk=imp.bank_account_id)
                    known = set(BankLine.objects.filter(
                        organization_id=org_id, bank_account_id=imp.bank_account_id,
                        dedupe_key__in=[li.dedupe_key for li in chunk]).values_list("dedupe_key", flat=True))
                    fresh = [li for li in chunk if li.dedupe_key not in known]
                    BankLine.objects.bulk_create(_new_lines(imp, fresh), batch_size=BATCH)
                    added += len(fresh)
                    StatementImport.objects.filter(pk=imp.pk).update(progress=start + len(chunk), lines_added=added)
            StatementImport.objects.filter(pk=imp.pk).update(
                status=StatementImport.Status.COMMITTED, lines_added=added,
                lines_duplicate=len(statement.lines) - added, committed_at=timezone.now(), parsed=None)
            return added
        except Exception as e:
            StatementImport.objects.filter(pk=imp.pk).update(
                status=StatementImport.Status.PREVIEW, job_error=f"{type(e).__name__}: {e}"[:500])
            raise


def commit_import(imp: StatementImport, *, actor=None) -> StatementImport:
    """Add the held file's lines that the account does not have yet. Once: a second commit is refused.
    The bank account's row lock serializes imports into one account, so two overlapping files
    committed at the same moment still add each line once."""
    with transaction.atomic():
        BankAccount.objects.select_for_update().get(pk=imp.bank_account_id)
        imp = StatementImport.objects.select_for_update().select_related("bank_account").get(pk=imp.pk)
        if imp.status != StatementImport.Status.PREVIEW:
            raise BankError(_("This file was already %(status)s.") % {"status": imp.get_status_display().lower()})
        try:
            summary = summarize(imp)
        except StatementError as e:
            raise BankError(str(e)) from None
        BankLine.objects.bulk_create(_new_lines(imp, summary.new), batch_size=2000)
        imp.status = StatementImport.Status.COMMITTED
        imp.lines_added, imp.lines_duplicate = len(summary.new), summary.duplicates
        imp.committed_at, imp.parsed = timezone.now(), None
        imp.created_by = imp.created_by or actor
        imp.save(update_fields=["status", "lines_added", "lines_duplicate", "committed_at", "created_by", "parsed"])
    return imp


def discard_import(imp: StatementImport) -> None:
    StatementImport.objects.filter(pk=imp.pk, status=StatementImport.Status.PREVIEW).update(
        status=StatementImport.Status.DISCARDED, content=b"", parsed=None)


# --- Matching actions ----------------------------------------------------------------------------

def _event(line: BankLine, action: str, detail: str, actor) -> None:
    BankLineEvent.objects.create(organization_id=line.organization_id, line=line, action=action,
                                 detail=detail[:500], created_by=actor)


def _lock_line(line: BankLine) -> BankLine:
    return (BankLine.objects.select_for_update(of=("self",)).select_related("bank_account", "bank_account__account")
            .get(pk=line.pk, organization_id=line.organization_id))


def suggestions_for(line: BankLine, context: MatchContext | None = None) -> list[Suggestion]:
    context = context or MatchContext.for_lines(line.bank_account, [line])
    return context.suggest(line)


def _refuse_if_matched(line: BankLine) -> None:
    if line.status != BankLineStatus.UNMATCHED:
        who = str(line.matched_by) if line.matched_by_id else ""
        when = timezone.localtime(line.matched_at).strftime("%Y-%m-%d %H:%M") if line.matched_at else ""
        raise BankError(_("This bank line was already matched%(by)s%(at)s; nothing was done again.")
                        % {"by": f" by {who}" if who else "", "at": f" at {when}" if when else ""})


def confirm_match(line: BankLine, suggestion_key: str, *, actor=None, settle: str = "",
                  settle_reason: str = "") -> BankLine:
    """Confirm one of the line's current suggestions: link the payment it names, or record a new
    payment for the customer allocated as suggested. The suggestion is computed again under the
    lock, so a stale or forged key is refused rather than trusted. `settle` ("discount" or
    "bank_fee") books what a short receipt leaves open on the suggested invoices as an early-payment
    discount or a bank fee (invoicing.services.write_off, within its tolerance), in the same
    transaction: refused, nothing is recorded."""
    _check_settle(settle)
    with transaction.atomic():
        line = _lock_line(line)
        _refuse_if_matched(line)
        chosen = next((s for s in suggestions_for(line) if s.key == suggestion_key), None)
        if chosen is None:
            raise BankError(_("That suggestion no longer applies (an invoice or payment changed since the page "
                              "was shown). Look at the line again."))
        if chosen.kind in ("entry", "bounce"):
            if settle:
                raise BankError(_("Only a receipt can leave a difference to book."))
            return _link_debit(line, chosen, actor)
        if chosen.payment is not None:
            payment = Payment.objects.select_for_update().get(pk=chosen.payment.pk)
            if payment.reversed_at or BankLine.objects.filter(payment=payment).exists():
                raise BankError(_("That payment is reversed or already seen on another bank line."))
            created = False
        else:
            payment = _record_from_line(line, chosen.customer.pk, chosen.allocation or NONE, chosen.reason, actor)
            created = True
        reason = chosen.reason
        if settle:
            if not created:
                raise BankError(_("A linked payment was recorded earlier; book a difference from its payment page."))
            reason += " " + _settle_short(line, [i.pk for i in chosen.invoices], settle, settle_reason, actor)
        _mark_matched(line, payment, created, reason, actor)
    return line


def _link_debit(line: BankLine, chosen: Suggestion, actor) -> BankLine:
    """Money out linked to what the books say took it out: a refund or a reversed payment (its
    entry), or a payment the bank returned, recorded now as bounced through the payments service
    (reverse_payment, dated the debit's booking date). The entry is on one line at most."""
    if chosen.kind == "bounce":
        payment = Payment.objects.get(organization_id=line.organization_id, pk=int(chosen.key.split(":")[1]))
        why = _("Returned by the bank on %(day)s: %(text)s") % {
            "day": line.booking_date, "text": line.remittance or line.bank_reference or "-"}
        payment = reverse_payment(payment, reason=why[:500], actor=actor, effective_date=line.booking_date)
        entry_id = payment.reversal_entry_id
    else:
        entry_id = chosen.entry_id
    seen_twice = BankError(_("That refund or reversal is already seen on another bank line."))
    if BankLine.objects.filter(organization_id=line.organization_id, entry_id=entry_id).exists():
        raise seen_twice
    line.entry_id, line.entry_linked, line.status = entry_id, True, BankLineStatus.MATCHED
    line.match_reason, line.matched_at, line.matched_by = chosen.reason[:500], timezone.now(), actor
    try:
        with transaction.atomic():  # two lines linking one refund at once: the unique index decides
            line.save(update_fields=["entry", "entry_linked", "status", "match_reason", "matched_at",
                                     "matched_by"])
    except IntegrityError:
        raise seen_twice from None
    _event(line, "matched", f"linked entry #{entry_id}: {chosen.reason}", actor)
    return line


SETTLE_KINDS = ("discount", "bank_fee")


def _check_settle(settle: str) -> None:
    if settle and settle not in SETTLE_KINDS:
        raise BankError(_("Book the difference as a discount or a bank fee, or leave it open."))


def _settle_key(line: BankLine) -> str:
    return f"bankline-{line.pk}-{line.match_count}-settle-"


def _settle_short(line: BankLine, invoice_ids, kind: str, reason: str, actor) -> str:
    """What the receipt left open on the invoices it paid, booked as `kind` through the write-off
    service (its tolerance rule decides; one home). Returns the sentence added to the match reason."""
    invoices = list(Invoice.objects.filter(organization_id=line.organization_id, pk__in=list(invoice_ids))
                    .order_by("pk"))
    left = [inv for inv in invoices if inv.amount_due > 0]
    if not left:
        raise BankError(_("The receipt leaves nothing open on these invoices; there is no difference to book."))
    what = str(WRITE_OFF_KINDS[kind])
    reason = (reason or "").strip() or (_("Paid short on the bank line of %(day)s (%(payer)s): %(kind)s")
                                        % {"day": line.booking_date, "payer": line.counterparty_name or "-",
                                           "kind": what})
    booked = []
    for inv in left:
        write_off(inv, inv.amount_due, reason, actor=actor, effective_date=line.booking_date,
                  idempotency_key=f"{_settle_key(line)}{inv.pk}", kind=kind)
        booked.append(f"{inv.number} {format_money(inv.amount_due, inv.currency)}")
    return _("Booked as %(kind)s: %(list)s.") % {"kind": what, "list": ", ".join(booked)}


def _record_from_line(line: BankLine, customer_id: int, allocation, reason: str, actor) -> Payment:
    """The receipt on the bank line as a payment of the customer, through the payments service."""
    customer = Customer.objects.get(organization_id=line.organization_id, pk=customer_id)
    return record_payment(
        line.bank_account.organization, customer, amount=line.amount, currency=line.currency,
        received_date=line.booking_date, method=PaymentMethod.BANK_TRANSFER,
        deposit_account=line.bank_account.account,
        idempotency_key=f"bankline-{line.pk}-{line.match_count}",
        reference=(line.creditor_reference or line.end_to_end_id or line.bank_reference or line.remittance)[:100],
        notes=_("Recorded from bank statement line of %(day)s (%(name)s). %(reason)s")
        % {"day": line.booking_date, "name": line.counterparty_name or "-", "reason": reason},
        actor=actor, allocation=allocation,
    )


def _mark_matched(line: BankLine, payment: Payment, created: bool, reason: str, actor) -> None:
    line.payment, line.payment_created, line.customer = payment, created, payment.customer
    line.status, line.match_reason = BankLineStatus.MATCHED, reason[:500]
    line.matched_at, line.matched_by = timezone.now(), actor
    line.save(update_fields=["payment", "payment_created", "customer", "status", "match_reason", "matched_at",
                             "matched_by"])
    _event(line, "matched", f"{'recorded' if created else 'linked'} payment #{payment.pk}: {reason}", actor)


def split_plan(line: BankLine, advice: str, locale: str):
    """What a pasted remittance advice would apply (payments.remittance); nothing is written."""
    return plan_split(line.bank_account.organization, line.amount, line.currency, advice, locale)


def confirm_split(line: BankLine, advice: str, locale: str, *, expected: dict[int, Decimal], actor=None,
                  settle: str = "", settle_reason: str = "") -> BankLine:
    """Record the line's receipt as one payment split as the advice says. The plan is computed again
    under the line's lock and must equal the one the user saw (`expected`), so nothing is applied
    that the user did not see. `settle` books what the rows marked short leave open as a discount
    or a bank fee (as confirm_match)."""
    _check_settle(settle)
    with transaction.atomic():
        line = _lock_line(line)
        _refuse_if_matched(line)
        if line.amount <= 0:
            raise BankError(_("Only money in can pay invoices."))
        plan = split_plan(line, advice, locale)
        if not plan.ok:
            first = next((_("Line %(n)s: %(p)s") % {"n": r.n, "p": r.problem} for r in plan.rows if r.problem), "")
            raise BankError(next(iter(plan.problems), first) or _("The advice applies nothing."))
        if plan.allocation != expected:
            raise BankError(_("The invoices changed since the plan was shown (a payment or credit meanwhile). "
                              "Look at the plan again."))
        numbers = ", ".join(r.invoice.number for r in plan.rows)
        reason = _("Split by the customer's remittance advice over %(n)s.") % {"n": numbers}
        payment = _record_from_line(line, plan.customer_id, plan.allocation, reason, actor)
        if settle:
            reason += " " + _settle_short(line, [r.invoice.pk for r in plan.rows if r.short_by], settle,
                                          settle_reason, actor)
        _mark_matched(line, payment, True, reason, actor)
    return line


def unmatch_line(line: BankLine, *, reason: str, actor=None) -> BankLine:
    """Undo a match: a payment the match recorded is reversed (through the payments service, never
    deleted; its allocations are un-applied); a linked existing payment is only unlinked; a posting
    to another account is reversed through the ledger. Reconciled lines must stay as they are."""
    reason = (reason or "").strip()
    if not reason:
        raise BankError(_("Say why the match is undone."))
    with transaction.atomic():
        line = _lock_line(line)
        if line.status == BankLineStatus.UNMATCHED:
            raise BankError(_("This bank line is not matched."))
        if line.status == BankLineStatus.RECONCILED:
            raise BankError(_("This bank line is reconciled; a reconciled line is not un-matched."))
        if line.payment_id and BankLine.objects.filter(
                organization_id=line.organization_id, entry_linked=True,
                entry_id__in=Payment.objects.filter(pk=line.payment_id).values("reversal_entry_id")).exists():
            raise BankError(_("The bank returned this payment on a later line, which is linked to its reversal; "
                              "undo that line first."))
        if line.payment_id and line.payment_created:
            payment = Payment.objects.get(pk=line.payment_id)
            if not payment.reversed_at:
                reverse_payment(payment, reason=_("Bank match undone: %(r)s") % {"r": reason}, actor=actor,
                                effective_date=payment.received_date)
            detail = f"reversed payment #{payment.pk}: {reason}"
            # A difference the match booked as a discount or a bank fee is due again.
            for wo in (WriteOff.objects.filter(organization_id=line.organization_id,
                                               entry__idempotency_key__startswith=_settle_key(line))
                       .select_related("entry", "invoice").order_by("pk")):
                if not WriteOff.objects.filter(reverses=wo).exists():
                    reverse_write_off(wo, _("Bank match undone: %(r)s") % {"r": reason}, actor=actor,
                                      effective_date=wo.effective_date)
                    detail += f"; undid write-off #{wo.pk}"
        elif line.payment_id:
            detail = f"unlinked payment #{line.payment_id}: {reason}"
        elif line.entry_linked:
            # A refund or a reversal recorded elsewhere: only the link goes (a bounce recorded from
            # this line stays recorded; a reversed payment is not un-reversed).
            detail = f"unlinked entry #{line.entry_id}: {reason}"
        else:
            from accounts.models import JournalEntry

            ledger.reverse(JournalEntry.objects.get(pk=line.entry_id), reason=reason, actor=actor,
                           effective_date=line.booking_date,
                           idempotency_key=f"bankline:{line.pk}:{line.match_count}:undo")
            detail = f"reversed entry #{line.entry_id}: {reason}"
        line.payment, line.payment_created, line.customer = None, False, None
        line.entry, line.posted_account, line.entry_linked = None, None, False
        line.status, line.match_reason, line.matched_at, line.matched_by = BankLineStatus.UNMATCHED, "", None, None
        line.match_count += 1
        line.save()
        _event(line, "unmatched", detail, actor)
    return line


def post_line(line: BankLine, *, account: Account, reason: str, actor=None) -> BankLine:
    """A line that is no customer receipt (a bank fee, a transfer): posted against another account
    through the ledger's one door. Dr bank / Cr account for money in, the mirror for money out."""
    reason = (reason or "").strip()
    if not reason:
        raise BankError(_("Say what the line is (e.g. monthly account fee)."))
    with transaction.atomic():
        line = _lock_line(line)
        _refuse_if_matched(line)
        bank = line.bank_account.account
        if account.organization_id != line.organization_id or account.pk == bank.pk or account.is_receivable:
            raise BankError(_("Choose another account of this organization (not the bank's own, not receivables: "
                              "customer receipts are matched, not posted)."))
        entry = ledger.post(
            line.bank_account.organization,
            [Line(bank, line.amount, currency=line.currency), Line(account, -line.amount, currency=line.currency)],
            effective_date=line.booking_date, idempotency_key=f"bankline:{line.pk}:{line.match_count}:post",
            memo=f"Bank line {line.booking_date} {line.counterparty_name or ''}: {reason}"[:500], actor=actor,
            source=("payments.bankline", line.pk), source_label=(line.bank_reference or f"bank line {line.pk}")[:100],
            reason=reason[:500],
        )
        line.entry, line.posted_account, line.status = entry, account, BankLineStatus.MATCHED
        line.match_reason = _("Posted to %(acc)s: %(reason)s") % {"acc": account, "reason": reason}
        line.matched_at, line.matched_by = timezone.now(), actor
        line.save(update_fields=["entry", "posted_account", "status", "match_reason", "matched_at", "matched_by"])
        _event(line, "posted", f"entry #{entry.pk} to {account}: {reason}", actor)
    return line


def reconcile_lines(bank_account: BankAccount, line_ids, *, actor=None) -> int:
    """Mark matched lines reconciled (who, when). Lines not matched are left as they are."""
    with transaction.atomic():
        lines = list(BankLine.objects.select_for_update().filter(
            organization_id=bank_account.organization_id, bank_account=bank_account, pk__in=list(line_ids),
            status=BankLineStatus.MATCHED).order_by("pk"))
        now = timezone.now()
        for line in lines:
            line.status, line.reconciled_at, line.reconciled_by = BankLineStatus.RECONCILED, now, actor
            line.save(update_fields=["status", "reconciled_at", "reconciled_by"])
            _event(line, "reconciled", "", actor)
    return len(lines)


# --- Reconciliation ------------------------------------------------------------------------------

@dataclass
class Reconciliation:
    bank_account: BankAccount
    as_of: date
    statement_balance: Decimal | None
    statement_source: str
    book_balance: Decimal
    unmatched_lines: list
    unmatched_total: Decimal
    unseen_payments: list
    unseen_total: Decimal
    counts: dict
    unseen_out: list = None  # refunds and reversals of seen payments not yet on a bank line (amount < 0)

    @property
    def difference(self) -> Decimal | None:
        if self.statement_balance is None:
            return None
        return self.statement_balance - self.book_balance

    @property
    def unexplained(self) -> Decimal | None:
        """What the open items on both sides do not explain: zero when the account reconciles."""
        if self.statement_balance is None:
            return None
        return self.statement_balance - self.unmatched_total - (self.book_balance - self.unseen_total)


def reconciliation(bank_account: BankAccount, as_of: date | None = None) -> Reconciliation:
    as_of = as_of or bank_account.organization.today()
    org_id = bank_account.organization_id
    imports = StatementImport.objects.filter(organization_id=org_id, bank_account=bank_account,
                                             status=StatementImport.Status.COMMITTED, date_to__lte=as_of)
    last = imports.exclude(closing_balance__isnull=True).order_by("-date_to", "-pk").first()
    statement_balance, source = None, ""
    if last is not None:
        # The bank's own closing balance, plus any lines of later-imported files up to as_of.
        later = BankLine.objects.filter(organization_id=org_id, bank_account=bank_account,
                                        booking_date__gt=last.date_to, booking_date__lte=as_of)
        statement_balance = last.closing_balance + (later.aggregate(s=Sum("amount"))["s"] or ZERO)
        source = _("closing balance of %(file)s (%(day)s)") % {"file": last.filename, "day": last.date_to}
    lines = BankLine.objects.filter(organization_id=org_id, bank_account=bank_account, booking_date__lte=as_of)
    unmatched = list(lines.filter(status=BankLineStatus.UNMATCHED).order_by("booking_date", "pk"))
    seen = BankLine.objects.filter(organization_id=org_id, payment__isnull=False).values("payment_id")
    unseen = list(Payment.objects.filter(organization_id=org_id, deposit_account=bank_account.account,
                                         currency=bank_account.currency, reversed_at__isnull=True,
                                         received_date__lte=as_of).exclude(pk__in=seen)
                  .select_related("customer").order_by("received_date", "pk"))
    unseen_out = _unseen_out(bank_account, as_of)
    counts = dict.fromkeys(BankLineStatus.values, 0)
    counts.update({row["status"]: row["n"] for row in lines.order_by().values("status").annotate(n=Count("pk"))})
    return Reconciliation(
        bank_account=bank_account, as_of=as_of, statement_balance=statement_balance, statement_source=source,
        book_balance=ledger.account_balance(bank_account.account, as_of=as_of, currency=bank_account.currency),
        unmatched_lines=unmatched, unmatched_total=sum((li.amount for li in unmatched), ZERO),
        unseen_payments=unseen, counts=counts, unseen_out=unseen_out,
        unseen_total=sum((p.amount for p in unseen), ZERO) + sum((o.amount for o in unseen_out), ZERO),
    )


@dataclass
class UnseenOut:
    day: date
    what: str
    customer: str
    reference: str
    amount: Decimal  # negative: money out
    payment_id: int


def _unseen_out(bank_account: BankAccount, as_of: date) -> list[UnseenOut]:
    """Money out in the books not yet seen in the bank: refunds paid from the account, and
    reversals of payments that a bank line showed (a bounce; a payment never seen in the bank and
    reversed nets to nothing and is left out), neither linked to a bank line."""
    from payments.models import Refund

    org_id, acc, cur = bank_account.organization_id, bank_account.account_id, bank_account.currency
    linked = BankLine.objects.filter(organization_id=org_id, entry__isnull=False).values("entry_id")
    seen = BankLine.objects.filter(organization_id=org_id, payment__isnull=False).values("payment_id")
    out = [UnseenOut(r.refund_date, _("refund"), r.customer.name, r.reference, -r.out_amount, r.payment_id)
           for r in Refund.objects.filter(refund_in_bank_currency(cur), organization_id=org_id, account_id=acc,
                                          refund_date__lte=as_of).exclude(entry_id__in=linked)
           .select_related("customer")]
    out += [UnseenOut(p.reversal_entry.effective_date, _("reversed payment"), p.customer.name, p.reference,
                      -bank_amount(p), p.pk)
            for p in Payment.objects.filter(in_bank_currency(cur), organization_id=org_id, deposit_account_id=acc,
                                            pk__in=seen, reversal_entry__isnull=False,
                                            reversal_entry__effective_date__lte=as_of)
            .exclude(reversal_entry_id__in=linked).select_related("customer", "reversal_entry")]
    return sorted(out, key=lambda o: (o.day, o.payment_id))
