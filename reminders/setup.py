"""What a new organization gets: reminder settings and a default policy (no fees until chosen)."""

from reminders.models import ReminderPolicy, ReminderSettings, ReminderStep, Tone

_SIGN_OFF = "\n\nKind regards,\n{organization}"
DEFAULT_STEPS = [
    # {due_when} says what is true on the day it goes out ("was due on ..." when caught up after a
    # pause); the link shows the invoice and the customer's account, where nothing can be paid.
    (-3, Tone.FRIENDLY, "Invoice {invoice_number} {due_when}",
     "Dear {customer},\n\nA friendly note that invoice {invoice_number} for {amount_due} {due_when}."
     "\n\nYou can view it here: {link}" + _SIGN_OFF),
    (0, Tone.FRIENDLY, "Invoice {invoice_number} {due_when}",
     "Dear {customer},\n\nInvoice {invoice_number} for {amount_due} {due_when}."
     "\n\nView it here: {link}\n\nIf you have already paid, thank you, and please ignore this message." + _SIGN_OFF),
    (7, Tone.FIRM, "Overdue: invoice {invoice_number}",
     "Dear {customer},\n\nInvoice {invoice_number} was due on {due_date} and is now {days_overdue} days overdue. "
     "{amount_due} is still open.\n\nPlease arrange payment. The invoice and your account: {link}" + _SIGN_OFF),
    (14, Tone.FIRM, "Second reminder: invoice {invoice_number} is {days_overdue} days overdue",
     "Dear {customer},\n\nWe have not yet received payment of {amount_due} for invoice {invoice_number}, "
     "due on {due_date}.\n\nPlease pay now, or tell us on this page if something is wrong: {link}" + _SIGN_OFF),
    (21, Tone.FINAL, "Final reminder: invoice {invoice_number}",
     "Dear {customer},\n\nInvoice {invoice_number} is {days_overdue} days overdue; {amount_due} is open. "
     "This is our final reminder before we take further steps.\n\n{link}" + _SIGN_OFF),
]


def seed_reminders(org) -> None:
    """accounts.services.ORG_CREATED_HOOKS: runs inside the new organization's tenant context."""
    ReminderSettings.objects.get_or_create(organization=org)
    if not ReminderPolicy.objects.filter(organization=org, is_default=True).exists():
        policy = ReminderPolicy.objects.create(organization=org, name="Standard", is_default=True,
                                               repeat_every_days=7, repeat_limit=4)
        ReminderStep.objects.bulk_create([
            ReminderStep(organization=org, policy=policy, offset_days=offset, tone=tone, subject=subject, body=body)
            for offset, tone, subject, body in DEFAULT_STEPS
        ])


def ensure_setup(org) -> ReminderSettings:
    """Organizations created before the reminders app existed get their defaults on first use."""
    settings = ReminderSettings.objects.filter(organization=org).first()
    if settings is None or not ReminderPolicy.objects.filter(organization=org, is_default=True).exists():
        seed_reminders(org)
        settings = ReminderSettings.objects.get(organization=org)
    if not org._state.adding:  # a loaded Organization: its time zone needs no second query
        settings.organization = org
    return settings
