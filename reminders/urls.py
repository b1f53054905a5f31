"""Reminder pages under /o/<org_slug>/reminders/."""

from django.urls import path

from reminders import views, views_disputes, views_plans, views_portal, views_webhooks, views_worklist

urlpatterns = [
    path("", views.reminder_list, name="reminder_list"),
    path("skip/", views.reminder_skip, name="reminder_skip"),
    path("log/", views.reminder_log, name="reminder_log"),
    path("log/<int:pk>/retry/", views.reminder_retry, name="reminder_retry"),
    path("policies/", views.reminder_policies, name="reminder_policies"),
    path("policies/new/", views.reminder_policy_edit, name="reminder_policy_create"),
    path("policies/<int:pk>/", views.reminder_policy, name="reminder_policy"),
    path("policies/<int:pk>/edit/", views.reminder_policy_edit, name="reminder_policy_edit"),
    path("settings/", views.reminder_settings, name="reminder_settings"),
    path("health/", views.reminder_health, name="reminder_health"),
    path("customers/<int:pk>/", views.reminder_customer, name="reminder_customer"),
    path("invoices/<int:pk>/send/", views.reminder_send, name="reminder_send"),
    path("invoices/<int:pk>/promise/", views.reminder_promise, name="reminder_promise"),
    path("promises/<int:pk>/cancel/", views.reminder_promise_cancel, name="reminder_promise_cancel"),
    path("customers/<int:pk>/plans/new/", views_plans.plan_create, name="plan_create"),
    path("plans/<int:pk>/cancel/", views_plans.plan_cancel, name="plan_cancel"),
    path("customers/<int:pk>/call/", views_plans.call_log, name="call_log"),
    path("customers/<int:pk>/activity/", views_plans.customer_activity, name="customer_activity"),
    path("worklist/", views_worklist.worklist, name="worklist"),
    path("notifications/read/", views_worklist.notifications_read, name="notifications_read"),
    path("notifications/digest/", views_worklist.notification_digest, name="notification_digest"),
    path("disputes/", views_disputes.dispute_list, name="dispute_list"),
    path("disputes/<int:pk>/", views_disputes.dispute_detail, name="dispute_detail"),
    path("disputes/<int:pk>/resolve/", views_disputes.dispute_resolve, name="dispute_resolve"),
    path("disputes/<int:pk>/reply/", views_disputes.dispute_reply, name="dispute_reply"),
    path("disputes/<int:pk>/assign/", views_disputes.dispute_assign, name="dispute_assign"),
    path("invoices/<int:pk>/dispute/", views_disputes.dispute_create, name="dispute_create"),
    path("webhooks/", views_webhooks.webhook_list, name="webhook_list"),
    path("webhooks/<int:pk>/", views_webhooks.webhook_detail, name="webhook_detail"),
    path("webhooks/<int:pk>/enable/", views_webhooks.webhook_enable, name="webhook_enable"),
    path("webhooks/<int:pk>/rotate/", views_webhooks.webhook_rotate, name="webhook_rotate"),
    path("webhooks/<int:pk>/delete/", views_webhooks.webhook_delete, name="webhook_delete"),
    path("webhooks/<int:pk>/deliveries/<int:delivery_pk>/resend/", views_webhooks.webhook_resend,
         name="webhook_resend"),
]

# The customer portal on the signed link, under /p/ beside invoicing's public pages (no login).
portal_urlpatterns = [
    path("<str:token>/account/", views_portal.account, name="portal_account"),
    path("<str:token>/account/dispute/", views_portal.dispute, name="portal_dispute"),
    path("<str:token>/account/promise/", views_portal.promise, name="portal_promise"),
    path("<str:token>/account/balance/", views_portal.balance, name="portal_balance"),
    path("<str:token>/account/plan/", views_portal.plan_accept, name="portal_plan_accept"),
    path("<str:token>/account/copy/", views_portal.copy, name="portal_copy"),
    path("<str:token>/account/statement.pdf", views_portal.statement_pdf, name="portal_statement"),
    path("reply-address/<str:token>/", views_portal.reply_to_verify, name="reply_to_verify"),
]
