from django.urls import path

from . import views, views_api_tokens, views_branches, views_outbox

app_name = "staff"

urlpatterns = [
    path("inloggen/", views.LibrarySignInView.as_view(), name="login"),
    path("uitloggen/", views.LibrarySignOutView.as_view(), name="logout"),
    path("", views.desk_home, name="desk-home"),
    path("vestiging/", views.working_branch_choose, name="working-branch"),
    path("api-sleutels/", views_api_tokens.api_tokens, name="api-tokens"),
    path("api-sleutels/<int:token_id>/intrekken/", views_api_tokens.api_token_revoke, name="api-token-revoke"),
    path("beheer/", views.library_admin, name="library-admin"),
    path("beheer/rol-toekennen/", views.role_grant, name="role-grant"),
    path("beheer/rol-intrekken/", views.role_revoke, name="role-revoke"),
    path("beheer/inloggen-vrijgeven/", views.sign_in_unlock, name="sign-in-unlock"),
    path("beheer/uitgaand/", views_outbox.outbox_list, name="outbox"),
    path("beheer/uitgaand/<int:message_id>/opnieuw/", views_outbox.outbox_message_retry, name="outbox-retry"),
    path("beheer/vestigingen/", views_branches.branch_list, name="branches"),
    path("beheer/vestigingen/<int:branch_id>/", views_branches.branch_hours, name="branch-hours"),
    path(
        "beheer/vestigingen/<int:branch_id>/sluitingsdagen/",
        views_branches.closed_date_add,
        name="branch-closed-add",
    ),
    path(
        "beheer/vestigingen/<int:branch_id>/sluitingsdagen/<int:closed_date_id>/verwijderen/",
        views_branches.closed_date_remove,
        name="branch-closed-remove",
    ),
]
