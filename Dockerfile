# LSB's production-like image: the web server (default command), the Celery
# worker and Celery beat all run from it (see docker-compose.yml).
#
# Configuration comes from the environment (lsb/settings.py): SECRET_KEY,
# DATABASE_URL, REDIS_URL and ALLOWED_HOSTS are required in production mode.

# The checkout without local state (virtualenv, embedded databases, git),
# even when the build context includes them.
FROM python:3.11-slim AS source
COPY . /src
RUN rm -rf /src/.venv /src/var /src/.git /src/.pytest_cache \
    && find /src -name __pycache__ -type d -prune -exec rm -rf {} +

FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    DJANGO_SETTINGS_MODULE=lsb.settings \
    STATIC_ROOT=/app/staticfiles \
    CELERY_BEAT_SCHEDULE_FILENAME=/app/var/celerybeat-schedule \
    PORT=8000

WORKDIR /app

# The pinned dependencies first (pyproject.toml installs no packages of its own:
# the apps run from /app), so code changes do not reinstall them.
COPY pyproject.toml /app/
RUN pip install /app

COPY --from=source /src /app

# Static files are collected into the image (whitenoise serves them). Only the
# settings module needs these placeholder values here; nothing connects anywhere.
RUN SECRET_KEY=collectstatic-only DATABASE_URL=postgres://collectstatic/none \
    REDIS_URL=redis://collectstatic:6379/0 ALLOWED_HOSTS=collectstatic DEBUG=0 \
    python manage.py collectstatic --noinput -v0

RUN useradd --system --create-home --uid 10001 lsb \
    && mkdir -p /app/var \
    && chown lsb:lsb /app/var
USER lsb

EXPOSE 8000

# The web server: brings the public schema and every library's schema up to date,
# then serves. (Only the web service migrates; worker and beat override the command.)
CMD ["sh", "-c", "python manage.py migrate_schemas --noinput && exec gunicorn lsb.wsgi:application --bind 0.0.0.0:${PORT} --workers ${WEB_CONCURRENCY:-3} --timeout 60 --graceful-timeout 20 --access-logfile - --error-logfile -"]
