# One image for the web app (`serve`, the default), migrations (`migrate`) and the CLI.
#   docker build -t bugfixer .
#   docker run --rm --env-file .env bugfixer migrate
#   docker run -d --env-file .env -p 8000:8000 bugfixer
FROM python:3.11-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

# bubblewrap: the sandbox that runs the user's program when a fix is verified.
RUN apt-get update \
    && apt-get install -y --no-install-recommends bubblewrap \
    && rm -rf /var/lib/apt/lists/*

RUN useradd --system --uid 10001 --user-group --home-dir /app --shell /usr/sbin/nologin bugfixer

WORKDIR /app
COPY pyproject.toml README.md alembic.ini ./
COPY bugfixer ./bugfixer
COPY migrations ./migrations
# Editable: the migrations folder sits beside the package, where the code looks for it.
RUN pip install -e . \
    && mkdir -p /app/instance \
    && chown bugfixer:bugfixer /app/instance
COPY docker/entrypoint.sh /usr/local/bin/bugfixer-entrypoint

USER bugfixer
ENV BUGFIXER_ENV=production \
    BUGFIXER_INSTANCE_DIR=/app/instance \
    BUGFIXER_HOST=0.0.0.0 \
    BUGFIXER_PORT=8000 \
    BUGFIXER_WORKERS=2 \
    BUGFIXER_MIGRATE_ON_START=false \
    BUGFIXER_LOG_FORMAT=json
EXPOSE 8000

HEALTHCHECK --interval=15s --timeout=5s --start-period=30s --retries=3 \
    CMD ["bugfixer-entrypoint", "healthcheck"]
ENTRYPOINT ["bugfixer-entrypoint"]
CMD ["serve"]
