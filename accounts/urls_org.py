from django.urls import path

from accounts.views import api_keys, audit, chart, customers, imports, ledger, members, period, sign_ins, verification

urlpatterns = [
    path("customers/", customers.customer_list, name="customer_list"),
    path("customers/new/", customers.customer_create, name="customer_create"),
    path("customers/lookup/", customers.customer_lookup, name="customer_lookup"),
    path("customers/<int:pk>/", customers.customer_detail, name="customer_detail"),
    path("customers/<int:pk>/edit/", customers.customer_edit, name="customer_edit"),
    path("customers/<int:pk>/archive/", customers.customer_archive, name="customer_archive"),
    path("customers/<int:pk>/delete/", customers.customer_delete, name="customer_delete"),
    path("settings/", members.org_settings, name="org_settings"),
    path("settings/api-keys/", api_keys.api_key_list, name="api_key_list"),
    path("settings/api-keys/<int:pk>/revoke/", api_keys.api_key_revoke, name="api_key_revoke"),
    path("members/", members.member_list, name="member_list"),
    path("members/<int:pk>/role/", members.member_role, name="member_role"),
    path("members/<int:pk>/remove/", members.member_remove, name="member_remove"),
    path("members/<int:pk>/sign-ins/", sign_ins.member_sign_ins, name="member_sign_ins"),
    path("invitations/<int:pk>/revoke/", members.invitation_revoke, name="invitation_revoke"),
    # The ledger's pages (accounts/views/ledger.py, accounts/views/chart.py)
    path("ledger/", ledger.journal, name="journal"),
    path("ledger/entries/<int:pk>/", ledger.journal_entry, name="journal_entry"),
    path("ledger/entries/<int:pk>/reverse/", ledger.journal_reverse, name="journal_reverse"),
    path("ledger/new/", ledger.journal_new, name="journal_new"),
    path("ledger/trial-balance/", ledger.trial_balance, name="trial_balance"),
    path("ledger/verify/", ledger.ledger_verify, name="ledger_verify"),
    path("settings/period-lock/", period.period_lock, name="period_lock"),
    path("settings/audit/", audit.audit_log, name="audit_log"),
    path("settings/verification/", verification.verification_history, name="verification_history"),
    path("settings/verification/checkpoint.json", verification.verification_checkpoint,
         name="verification_checkpoint"),
    path("ledger/accounts/", chart.chart_of_accounts, name="chart_of_accounts"),
    path("ledger/accounts/new/", chart.account_create, name="account_create"),
    path("ledger/accounts/<int:pk>/edit/", chart.account_edit, name="account_edit"),
    path("ledger/accounts/<int:pk>/delete/", chart.account_delete, name="account_delete"),
    # Imports (accounts/views/imports.py)
    path("settings/import/", imports.import_list, name="import_list"),
    path("settings/import/<int:pk>/", imports.import_detail, name="import_detail"),
    path("settings/import/export/<slug:kind>.<slug:fmt>", imports.import_export, name="import_export"),
    path("settings/import/<int:pk>/errors.csv", imports.import_errors_csv, name="import_errors_csv"),
    path("customers/<int:pk>/ledger.csv", ledger.customer_ledger_csv, name="customer_ledger_csv"),
]
