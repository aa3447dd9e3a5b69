# The platform's image: one image for every process (web, worker, beat, release), which only
# differ by command. Every step is a script of deploy/, which tests/ops/test_production_kit.py
# runs without containers, so the image and the tests cannot drift apart.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_ROOT_USER_ACTION=ignore

WORKDIR /app
RUN groupadd --system --gid 10001 app \
    && useradd --system --uid 10001 --gid app --home-dir /app --no-create-home \
        --shell /usr/sbin/nologin app

# Dependencies first, from the lock file alone: this layer is rebuilt only when the lock changes.
COPY requirements.lock ./
COPY deploy/build.sh deploy/
RUN deploy/build.sh deps

# The source tree (see .dockerignore), then the static files' manifest, collected at build.
COPY . .
RUN deploy/build.sh static

# From here on an unprivileged user, who cannot change the code or the static files.
USER app:app
EXPOSE 8000
HEALTHCHECK --interval=15s --timeout=6s --start-period=30s --retries=3 \
    CMD ["python", "deploy/healthcheck.py"]
CMD ["deploy/web.sh"]
