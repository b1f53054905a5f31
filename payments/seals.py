"""What payments seals (accounts.seals): payments, refunds and every allocation row, so a
deleted or edited allocation is found even by someone who can switch the triggers off."""

from accounts.seals import SealKind, instant, iso, register

PAYMENT = register(SealKind(
    kind="payment", table="payments_payment", noun="the payment",
    label="'payment ' || coalesce(nullif(d.reference, ''), '#' || d.id)", entry="d.entry_id",
    content=f"""concat_ws('|', 'payment-v1', d.customer_id, d.amount, d.currency, {iso('d.received_date')}, d.method,
        d.reference, d.deposit_account_id, d.entry_id, d.idempotency_key)""",
))

REFUND = register(SealKind(
    kind="refund", table="payments_refund", noun="the refund",
    label="'refund ' || coalesce(nullif(d.reference, ''), '#' || d.id)", entry="d.entry_id",
    content=f"""concat_ws('|', 'refund-v1', d.payment_id, d.customer_id, d.amount, d.currency, {iso('d.refund_date')},
        d.method, d.reference, d.account_id, d.entry_id)""",
))

ALLOCATION = register(SealKind(
    kind="allocation", table="payments_allocation", noun="the allocation",
    label="'allocation #' || d.id || ' to ' || (SELECT number FROM invoicing_invoice i WHERE i.id = d.invoice_id)",
    customer="(SELECT customer_id FROM invoicing_invoice i WHERE i.id = d.invoice_id)",
    content=f"""concat_ws('|', 'allocation-v1', d.invoice_id, coalesce(d.payment_id, 0), coalesce(d.credit_note_id, 0),
        d.amount, coalesce(d.reverses_id, 0), d.reason, {iso('d.effective_date')})""",
))

# A bank line's history (matched, unmatched, posted, reconciled: who, when, why), with the facts of
# the line it is about (account, date, amount, bank's key). Tied to no entry: the line's links
# move as it is matched and unmatched, each move being an event of its own.
BANK_LINE_EVENT = register(SealKind(
    kind="bank_line_event", table="payments_banklineevent", noun="the bank-line event",
    label="'bank line #' || d.line_id || ' ' || d.action",
    customer="(SELECT customer_id FROM payments_bankline b WHERE b.id = d.line_id)",
    content=f"""concat_ws('|', 'bank-line-event-v1', d.line_id, d.action, d.detail, coalesce(d.created_by_id, 0),
        {instant('d.created_at')},
        (SELECT concat_ws('~', b.bank_account_id, b.dedupe_key, {iso('b.booking_date')}, b.amount, b.currency)
         FROM payments_bankline b WHERE b.id = d.line_id))""",
))


def _register_subledger_check():
    from accounts.ledger_verify_seals import SUBLEDGER_CHECKS
    from payments.subledger import check

    if check not in SUBLEDGER_CHECKS:
        SUBLEDGER_CHECKS.append(check)


_register_subledger_check()
