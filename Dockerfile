# Loa in a container: long polling by default, the database on the /data volume.
# Build: docker build -t loa .
# Run:   docker run -e LOA_BOT_TOKEN=... -e LOA_ADMIN_IDS=... -v loa-data:/data loa
# Bind mounts, content updates and webhook mode: README.md, section "Docker".

FROM python:3.11-slim AS build
WORKDIR /src
COPY pyproject.toml constraints.txt README.md ./
COPY bot ./bot
# The venv gets no pip of its own: the build stage's pip installs into it (--python), so
# the runtime stage carries neither pip nor setuptools. constraints.txt pins versions.
RUN python -m venv --without-pip /opt/loa \
    && pip install --no-cache-dir --python /opt/loa/bin/python -c constraints.txt ".[webhooks]" \
    && find /opt/loa/lib -type d -name tests -prune -exec rm -rf {} +
# (the libraries' own test suites: ~24 MB, mostly numpy's and matplotlib's)

FROM python:3.11-slim
ENV PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    PATH="/opt/loa/bin:$PATH" \
    LOA_DB_PATH=/data/loa.db \
    LOA_CONTENT_DIR=/app/content \
    LOA_HEALTH_FILE=/data/health.json \
    MPLCONFIGDIR=/opt/loa/matplotlib
# No pip, setuptools or wheel at run time (nothing installs there; smaller, less to patch).
RUN python -m pip uninstall -y -q pip setuptools wheel 2>/dev/null; \
    rm -rf /usr/local/lib/python3.11/ensurepip/_bundled /usr/local/bin/pip* \
    && groupadd --system --gid 10001 loa \
    && useradd --system --uid 10001 --gid 10001 --home-dir /app --no-create-home loa \
    && mkdir -p /data /app \
    && chown 10001:10001 /data
COPY --from=build /opt/loa /opt/loa
# matplotlib's font cache, built once here instead of at every start (the first /thongke
# would otherwise spend seconds scanning fonts in a read-only home).
RUN python -c "import matplotlib; matplotlib.use('Agg'); import matplotlib.font_manager" \
    && chmod -R a+rX /opt/loa/matplotlib
# The content folder belongs to the bot's user so it can write articles there; bind-mount
# a host folder over it to update content without rebuilding (README "Docker").
COPY --chown=10001:10001 content /app/content
WORKDIR /app
USER 10001:10001
VOLUME ["/data"]
# Webhook mode (LOA_WEBHOOK_URL) listens on LOA_WEBHOOK_PORT; long polling needs no port.
EXPOSE 8443
# Unhealthy when polling or the delivery dispatcher stalls, not merely when the process exists.
HEALTHCHECK --interval=60s --timeout=10s --start-period=60s --retries=3 CMD ["loa", "health"]
CMD ["loa", "run"]
