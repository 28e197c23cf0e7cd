# Loa in a container: long polling by default, the database on the /data volume.
# Build: docker build -t loa .   Run: docker run -e LOA_BOT_TOKEN=... -v loa-data:/data loa

FROM python:3.11-slim AS build
WORKDIR /src
COPY pyproject.toml README.md ./
COPY bot ./bot
RUN python -m venv /opt/loa \
    && /opt/loa/bin/pip install --no-cache-dir --upgrade pip \
    && /opt/loa/bin/pip install --no-cache-dir ".[webhooks]"

FROM python:3.11-slim
ENV PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    PATH="/opt/loa/bin:$PATH" \
    LOA_DB_PATH=/data/loa.db \
    LOA_CONTENT_DIR=/app/content \
    LOA_HEALTH_FILE=/data/health.json \
    MPLCONFIGDIR=/tmp/matplotlib
RUN useradd --system --uid 10001 --home-dir /app loa \
    && mkdir -p /data /app \
    && chown loa:loa /data
COPY --from=build /opt/loa /opt/loa
COPY content /app/content
WORKDIR /app
USER loa
VOLUME ["/data"]
# Unhealthy when polling or the delivery dispatcher stalls, not merely when the process exists.
HEALTHCHECK --interval=60s --timeout=10s --start-period=60s --retries=3 CMD ["loa", "health"]
CMD ["loa", "run"]
