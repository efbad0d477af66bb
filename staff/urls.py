from django.urls import path

from . import views

app_name = "staff"

urlpatterns = [
    path("inloggen/", views.LibrarySignInView.as_view(), name="login"),
    path("uitloggen/", views.LibrarySignOutView.as_view(), name="logout"),
    path("", views.desk_home, name="desk-home"),
    path("vestiging/", views.working_branch_choose, name="working-branch"),
    path("beheer/", views.library_admin, name="library-admin"),
    path("beheer/rol-toekennen/", views.role_grant, name="role-grant"),
    path("beheer/rol-intrekken/", views.role_revoke, name="role-revoke"),
]
