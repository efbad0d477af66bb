"""Throttling per API key: a fixed window counted in Redis (one INCR per request),
shared by every web process. The rate is settings.LSB_API_RATE ("600/min" by
default; "N/s", "N/min", "N/hour"). Over it: 429 api.throttled with Retry-After."""

import time

from django.conf import settings
from django.core.cache import cache
from rest_framework.throttling import BaseThrottle

from .authentication import ApiKey

PERIODS = {"s": 1, "sec": 1, "second": 1, "m": 60, "min": 60, "minute": 60, "h": 3600, "hour": 3600}


def parse_rate(rate):
    count, _, period = str(rate).partition("/")
    return int(count), PERIODS[period.strip().lower()]


class ApiKeyRateThrottle(BaseThrottle):
    def allow_request(self, request, view):
        key = request.auth
        if not isinstance(key, ApiKey):
            return True  # refused anyway: no key
        limit, period = parse_rate(settings.LSB_API_RATE)
        now = time.time()
        window = int(now // period)
        name = f"api-rate:{key.key_id}:{period}:{window}"
        cache.add(name, 0, timeout=period + 1)
        try:
            count = cache.incr(name)
        except ValueError:  # expired between add and incr
            cache.add(name, 1, timeout=period + 1)
            count = 1
        self._wait = (window + 1) * period - now
        return count <= limit

    def wait(self):
        return max(1, int(self._wait + 0.999))
