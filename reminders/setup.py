"""What a new organization gets: reminder settings and a default policy (no fees until chosen)."""

from accounts.locale import organization_language
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


# The default steps in every language with a catalog (issue 17): the organization's default language
# is the steps' own text, the others go into ReminderStep.texts.
_SIGN_OFFS = {
    "en": "\n\nKind regards,\n{organization}",
    "de": "\n\nMit freundlichen Grüßen\n{organization}",
    "fr": "\n\nCordialement,\n{organization}",
    "es": "\n\nAtentamente,\n{organization}",
    "hi": "\n\nसादर,\n{organization}",
}
DEFAULT_STEP_TEXTS = {
    "de": [
        ("Rechnung {invoice_number} {due_when}",
         "Guten Tag {customer},\n\nein freundlicher Hinweis: Rechnung {invoice_number} über {amount_due} {due_when}."
         "\n\nSie können sie hier ansehen: {link}"),
        ("Rechnung {invoice_number} {due_when}",
         "Guten Tag {customer},\n\nRechnung {invoice_number} über {amount_due} {due_when}."
         "\n\nHier ansehen: {link}\n\nFalls Sie bereits bezahlt haben, vielen Dank – dann betrachten Sie diese "
         "Nachricht bitte als gegenstandslos."),
        ("Überfällig: Rechnung {invoice_number}",
         "Guten Tag {customer},\n\nRechnung {invoice_number} war am {due_date} fällig und ist seit {days_overdue} "
         "Tagen überfällig. Offen sind noch {amount_due}.\n\nBitte veranlassen Sie die Zahlung. Rechnung und "
         "Kontoauszug: {link}"),
        ("Zweite Mahnung: Rechnung {invoice_number} ist seit {days_overdue} Tagen überfällig",
         "Guten Tag {customer},\n\nwir haben die Zahlung von {amount_due} für Rechnung {invoice_number}, fällig am "
         "{due_date}, noch nicht erhalten.\n\nBitte zahlen Sie jetzt, oder teilen Sie uns auf dieser Seite mit, "
         "wenn etwas nicht stimmt: {link}"),
        ("Letzte Mahnung: Rechnung {invoice_number}",
         "Guten Tag {customer},\n\nRechnung {invoice_number} ist seit {days_overdue} Tagen überfällig; offen sind "
         "{amount_due}. Dies ist unsere letzte Mahnung, bevor wir weitere Schritte einleiten.\n\n{link}"),
    ],
    "fr": [
        ("La facture {invoice_number} {due_when}",
         "Bonjour {customer},\n\nPetit rappel : la facture {invoice_number} d’un montant de {amount_due} {due_when}."
         "\n\nVous pouvez la consulter ici : {link}"),
        ("La facture {invoice_number} {due_when}",
         "Bonjour {customer},\n\nLa facture {invoice_number} d’un montant de {amount_due} {due_when}."
         "\n\nConsultez-la ici : {link}\n\nSi vous avez déjà payé, merci, et veuillez ne pas tenir compte de ce "
         "message."),
        ("En retard : facture {invoice_number}",
         "Bonjour {customer},\n\nLa facture {invoice_number} était due le {due_date} et est en retard de "
         "{days_overdue} jours. {amount_due} reste à régler.\n\nMerci de procéder au paiement. La facture et votre "
         "compte : {link}"),
        ("Deuxième relance : la facture {invoice_number} est en retard de {days_overdue} jours",
         "Bonjour {customer},\n\nNous n’avons pas encore reçu le paiement de {amount_due} pour la facture "
         "{invoice_number}, due le {due_date}.\n\nMerci de régler dès maintenant, ou de nous signaler sur cette page "
         "si quelque chose ne va pas : {link}"),
        ("Dernière relance : facture {invoice_number}",
         "Bonjour {customer},\n\nLa facture {invoice_number} est en retard de {days_overdue} jours ; {amount_due} "
         "reste à régler. Ceci est notre dernière relance avant d’engager d’autres démarches.\n\n{link}"),
    ],
    "es": [
        ("La factura {invoice_number} {due_when}",
         "Estimado/a {customer}:\n\nLe recordamos amablemente que la factura {invoice_number} por {amount_due} "
         "{due_when}.\n\nPuede verla aquí: {link}"),
        ("La factura {invoice_number} {due_when}",
         "Estimado/a {customer}:\n\nLa factura {invoice_number} por {amount_due} {due_when}."
         "\n\nVéala aquí: {link}\n\nSi ya ha pagado, muchas gracias; por favor, ignore este mensaje."),
        ("Vencida: factura {invoice_number}",
         "Estimado/a {customer}:\n\nLa factura {invoice_number} vencía el {due_date} y lleva {days_overdue} días "
         "vencida. Quedan pendientes {amount_due}.\n\nLe rogamos que realice el pago. La factura y su cuenta: {link}"),
        ("Segundo recordatorio: la factura {invoice_number} lleva {days_overdue} días vencida",
         "Estimado/a {customer}:\n\nTodavía no hemos recibido el pago de {amount_due} de la factura "
         "{invoice_number}, con vencimiento el {due_date}.\n\nLe rogamos que pague ahora o que nos indique en esta "
         "página si hay algún problema: {link}"),
        ("Último recordatorio: factura {invoice_number}",
         "Estimado/a {customer}:\n\nLa factura {invoice_number} lleva {days_overdue} días vencida; quedan pendientes "
         "{amount_due}. Este es nuestro último recordatorio antes de tomar otras medidas.\n\n{link}"),
    ],
    "hi": [
        ("चालान {invoice_number} {due_when}",
         "प्रिय {customer},\n\nविनम्र सूचना: {amount_due} का चालान {invoice_number} {due_when}।"
         "\n\nआप इसे यहाँ देख सकते हैं: {link}"),
        ("चालान {invoice_number} {due_when}",
         "प्रिय {customer},\n\n{amount_due} का चालान {invoice_number} {due_when}।"
         "\n\nयहाँ देखें: {link}\n\nयदि आप भुगतान कर चुके हैं, तो धन्यवाद; कृपया इस संदेश को अनदेखा करें।"),
        ("अतिदेय: चालान {invoice_number}",
         "प्रिय {customer},\n\nचालान {invoice_number} की देय तिथि {due_date} थी और यह {days_overdue} दिन से "
         "अतिदेय है। {amount_due} अभी बकाया है।\n\nकृपया भुगतान की व्यवस्था करें। चालान और आपका खाता: {link}"),
        ("दूसरा अनुस्मारक: चालान {invoice_number} {days_overdue} दिन से अतिदेय है",
         "प्रिय {customer},\n\nहमें चालान {invoice_number} (देय तिथि {due_date}) के {amount_due} का भुगतान अभी "
         "तक नहीं मिला है।\n\nकृपया अभी भुगतान करें, या कुछ गलत हो तो इस पृष्ठ पर हमें बताएँ: {link}"),
        ("अंतिम अनुस्मारक: चालान {invoice_number}",
         "प्रिय {customer},\n\nचालान {invoice_number} {days_overdue} दिन से अतिदेय है; {amount_due} बकाया है। "
         "आगे की कार्रवाई से पहले यह हमारा अंतिम अनुस्मारक है।\n\n{link}"),
    ],
}


def default_steps(language: str) -> list[tuple]:
    """(offset, tone, subject, body, texts) of the default policy with `language` as its own text and
    every other language in `texts` (ReminderStep.texts)."""
    every = {"en": [(subject, body[: -len(_SIGN_OFF)]) for _o, _t, subject, body in DEFAULT_STEPS],
             **DEFAULT_STEP_TEXTS}

    def text(lang, n):
        subject, body = every[lang][n]
        return subject, body + _SIGN_OFFS[lang]

    own = language if language in every else "en"
    return [(offset, tone, *text(own, n),
             {lang: dict(zip(("subject", "body"), text(lang, n), strict=True)) for lang in every if lang != own})
            for n, (offset, tone, _s, _b) in enumerate(DEFAULT_STEPS)]


def seed_reminders(org) -> None:
    """accounts.services.ORG_CREATED_HOOKS: runs inside the new organization's tenant context."""
    ReminderSettings.objects.get_or_create(organization=org)
    if not ReminderPolicy.objects.filter(organization=org, is_default=True).exists():
        policy = ReminderPolicy.objects.create(organization=org, name="Standard", is_default=True,
                                               repeat_every_days=7, repeat_limit=4)
        ReminderStep.objects.bulk_create([
            ReminderStep(organization=org, policy=policy, offset_days=offset, tone=tone, subject=subject, body=body,
                         texts=texts)
            for offset, tone, subject, body, texts in default_steps(organization_language(org))
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
