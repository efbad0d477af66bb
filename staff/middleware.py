"""Desk sessions on shared PCs end after a while without use."""

import time

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import logout
from django.contrib.auth.views import redirect_to_login
from django.http import HttpResponse

LAST_SEEN_KEY = "lsb_last_seen"
# The session is written at most this often for the idle clock (not on every scan).
TOUCH_EVERY_SECONDS = 60


class DeskIdleTimeoutMiddleware:
    """A signed-in staff session without a request for LSB_DESK_IDLE_MINUTES is
    signed out: the next request goes to the sign-in page (with a Dutch message),
    a desk scan sent by the page's script gets 401. 0 turns it off."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        idle_minutes = settings.LSB_DESK_IDLE_MINUTES
        user = getattr(request, "user", None)
        if idle_minutes and user is not None and user.is_authenticated:
            now = time.time()
            last_seen = request.session.get(LAST_SEEN_KEY)
            if last_seen is not None and now - last_seen > idle_minutes * 60:
                logout(request)
                return self.signed_out(request, idle_minutes)
            if last_seen is None or now - last_seen > TOUCH_EVERY_SECONDS:
                request.session[LAST_SEEN_KEY] = now
        return self.get_response(request)

    @staticmethod
    def signed_out(request, idle_minutes):
        text = f"U bent afgemeld na {idle_minutes} minuten zonder activiteit. Log opnieuw in."
        if getattr(request, "library", None) is None:
            return redirect_to_login(request.get_full_path(), "/admin/login/")
        if request.headers.get("HX-Request"):
            return HttpResponse(text, status=401, content_type="text/plain; charset=utf-8")
        messages.info(request, text)
        return redirect_to_login(request.get_full_path() if request.method == "GET" else request.path)
