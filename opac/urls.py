"""The members' catalogue on a library's host (included at the root of lsb.urls_tenants)."""

from django.urls import path, re_path

from . import views, views_account, views_register

app_name = "opac"

urlpatterns = [
    path("", views.home, name="home"),
    path("zoeken/", views.search, name="search"),
    path("titel/<int:title_id>-<slug:slug>/", views.title_detail, name="title"),
    path("titel/<int:title_id>/", views.title_detail, name="title-short"),
    path("titel/<int:title_id>-<slug:slug>/reserveren/", views_account.reserve, name="reserve"),
    path("aanmelden/", views_account.sign_in, name="sign-in"),
    path("afmelden/", views_account.sign_out, name="sign-out"),
    path("pincode-vergeten/", views_account.pin_forgotten, name="pin-forgotten"),
    re_path(r"^pincode-herstellen/(?P<token>[^/]+)/$", views_account.pin_reset, name="pin-reset"),
    path("mijn/", views_account.account, name="account"),
    path("mijn/verlengen/", views_account.renew_loans, name="renew"),
    path("mijn/reserveringen/<int:hold_id>/", views_account.hold_action, name="hold-action"),
    path("mijn/ibl/<int:request_id>/annuleren/", views_account.ibl_cancel, name="ibl-cancel"),
    path("mijn/gegevens/", views_account.profile, name="profile"),
    path("mijn/pincode/", views_account.pin_change, name="pin-change"),
    path("mijn/leenhistorie/", views_account.history, name="history"),
    path("mijn/gegevens/downloaden/", views_account.export, name="export"),
    path("registreren/", views_register.register, name="register"),
    path("registreren/klaar/", views_register.register_done, name="register-done"),
    re_path(r"^registreren/bevestigen/(?P<token>[^/]+)/$", views_register.register_verify, name="register-verify"),
    path("sitemap.xml", views.sitemap, name="sitemap"),
    path("robots.txt", views.robots, name="robots"),
]
