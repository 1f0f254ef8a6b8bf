# WhatsHybrid API: one image for the web (ASGI: HTTP + websockets) and worker processes.
FROM python:3.13-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    DJANGO_SETTINGS_MODULE=whatshybrid.settings \
    STATIC_ROOT=/app/staticfiles \
    SQLITE_PATH=/app/data/whatshybrid.sqlite3 \
    HOST=0.0.0.0 \
    PORT=3000

WORKDIR /app

RUN groupadd --system app && useradd --system --gid app --home-dir /app --no-create-home app

# Dependencies first: this layer is reused until requirements.txt changes.
COPY requirements.txt .
RUN pip install -r requirements.txt

COPY --chown=app:app . .

# collectstatic only reads settings; this throwaway key never reaches a running container.
RUN SECRET_KEY=collectstatic-only-not-a-runtime-secret-0123456789abcdef \
    python manage.py collectstatic --noinput --verbosity 0 \
    && mkdir -p /app/data && chown -R app:app /app/data /app/staticfiles

USER app
EXPOSE 3000

HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
    CMD ["python", "-m", "whatshybrid.api.healthcheck"]

# Web process: `manage.py serve` without its embedded worker, scheduler and migrate step (compose
# runs those as services); the same serving stack as bin/serve (see README, "Serving"). Workers run the same image with: python manage.py db_worker
# and one scheduler (periodic jobs: prune, prune_events, task reminders): python manage.py scheduler
# uvicorn trusts X-Forwarded-* only from FORWARDED_ALLOW_IPS (default 127.0.0.1): set it to the
# load balancer's address so rate limits see client IPs.
CMD ["sh", "-c", "exec python manage.py serve --host \"$HOST\" --port \"$PORT\" --no-worker --no-scheduler --no-migrate"]
