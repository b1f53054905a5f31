from django.urls import path

from accounts.views import customers, members
from reports.views import dashboard

urlpatterns = [
    path("", dashboard, name="dashboard"),
    path("customers/", customers.customer_list, name="customer_list"),
    path("customers/new/", customers.customer_create, name="customer_create"),
    path("customers/<int:pk>/", customers.customer_detail, name="customer_detail"),
    path("customers/<int:pk>/edit/", customers.customer_edit, name="customer_edit"),
    path("customers/<int:pk>/archive/", customers.customer_archive, name="customer_archive"),
    path("customers/<int:pk>/delete/", customers.customer_delete, name="customer_delete"),
    path("settings/", members.org_settings, name="org_settings"),
    path("members/", members.member_list, name="member_list"),
    path("members/<int:pk>/role/", members.member_role, name="member_role"),
    path("members/<int:pk>/remove/", members.member_remove, name="member_remove"),
    path("invitations/<int:pk>/revoke/", members.invitation_revoke, name="invitation_revoke"),
]
