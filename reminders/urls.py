"""Reminder pages under /o/<org_slug>/reminders/."""

from django.urls import path

from reminders.views import batches, disputes, plans, portal, reminders, webhooks, worklist

urlpatterns = [
    path("", reminders.reminder_list, name="reminder_list"),
    path("skip/", reminders.reminder_skip, name="reminder_skip"),
    path("log/", reminders.reminder_log, name="reminder_log"),
    path("emails/", batches.reminder_batches, name="reminder_batches"),
    path("log/<int:pk>/retry/", reminders.reminder_retry, name="reminder_retry"),
    path("policies/", reminders.reminder_policies, name="reminder_policies"),
    path("policies/new/", reminders.reminder_policy_edit, name="reminder_policy_create"),
    path("policies/<int:pk>/", reminders.reminder_policy, name="reminder_policy"),
    path("policies/<int:pk>/edit/", reminders.reminder_policy_edit, name="reminder_policy_edit"),
    path("settings/", reminders.reminder_settings, name="reminder_settings"),
    path("health/", reminders.reminder_health, name="reminder_health"),
    path("customers/<int:pk>/", reminders.reminder_customer, name="reminder_customer"),
    path("invoices/<int:pk>/send/", reminders.reminder_send, name="reminder_send"),
    path("invoices/<int:pk>/promise/", reminders.reminder_promise, name="reminder_promise"),
    path("promises/<int:pk>/cancel/", reminders.reminder_promise_cancel, name="reminder_promise_cancel"),
    path("customers/<int:pk>/plans/new/", plans.plan_create, name="plan_create"),
    path("plans/<int:pk>/cancel/", plans.plan_cancel, name="plan_cancel"),
    path("customers/<int:pk>/call/", plans.call_log, name="call_log"),
    path("customers/<int:pk>/activity/", plans.customer_activity, name="customer_activity"),
    path("worklist/", worklist.worklist, name="worklist"),
    path("notifications/read/", worklist.notifications_read, name="notifications_read"),
    path("notifications/digest/", worklist.notification_digest, name="notification_digest"),
    path("disputes/", disputes.dispute_list, name="dispute_list"),
    path("disputes/<int:pk>/", disputes.dispute_detail, name="dispute_detail"),
    path("disputes/<int:pk>/resolve/", disputes.dispute_resolve, name="dispute_resolve"),
    path("disputes/<int:pk>/reply/", disputes.dispute_reply, name="dispute_reply"),
    path("disputes/<int:pk>/assign/", disputes.dispute_assign, name="dispute_assign"),
    path("disputes/<int:pk>/attach/", disputes.dispute_attach, name="dispute_attach"),
    path("disputes/<int:pk>/attachments/<int:file_pk>/", disputes.dispute_attachment, name="dispute_attachment"),
    path("invoices/<int:pk>/dispute/", disputes.dispute_create, name="dispute_create"),
    path("webhooks/", webhooks.webhook_list, name="webhook_list"),
    path("webhooks/<int:pk>/", webhooks.webhook_detail, name="webhook_detail"),
    path("webhooks/<int:pk>/enable/", webhooks.webhook_enable, name="webhook_enable"),
    path("webhooks/<int:pk>/rotate/", webhooks.webhook_rotate, name="webhook_rotate"),
    path("webhooks/<int:pk>/delete/", webhooks.webhook_delete, name="webhook_delete"),
    path("webhooks/<int:pk>/deliveries/<int:delivery_pk>/resend/", webhooks.webhook_resend,
         name="webhook_resend"),
]

# The customer portal on the signed link, under /p/ beside invoicing's public pages (no login).
portal_urlpatterns = [
    path("<str:token>/account/", portal.account, name="portal_account"),
    path("<str:token>/account/dispute/", portal.dispute, name="portal_dispute"),
    path("<str:token>/account/promise/", portal.promise, name="portal_promise"),
    path("<str:token>/account/balance/", portal.balance, name="portal_balance"),
    path("<str:token>/account/plan/", portal.plan_accept, name="portal_plan_accept"),
    path("<str:token>/account/copy/", portal.copy, name="portal_copy"),
    path("<str:token>/account/attachments/<int:pk>/", portal.attachment, name="portal_attachment"),
    path("<str:token>/account/statement.pdf", portal.statement_pdf, name="portal_statement"),
    path("reply-address/<str:token>/", portal.reply_to_verify, name="reply_to_verify"),
]
