# The connector's image: the CLI, the API (gunicorn), the scheduler and the Celery worker.
#
# Two stages. The first builds a wheel, fetching the web pages' front-end files from npm
# (pinned by integrity, decision 0027); the second installs only that wheel on a clean
# slim image and runs as an unprivileged user. docker-compose.yml runs every role from it.

FROM python:3.11-slim AS build
ENV PYTHONDONTWRITEBYTECODE=1 PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /src
COPY pyproject.toml README.md ./
COPY connector ./connector
RUN python connector/web/assets.py . && pip wheel --no-cache-dir --wheel-dir /wheels .

FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_DISABLE_PIP_VERSION_CHECK=1 \
    CONNECTOR_CONFIG_DIR=/srv/connector/config CONNECTOR_DATA_DIR=/srv/connector/var
RUN useradd --system --uid 10001 --home-dir /srv/connector --shell /usr/sbin/nologin connector
WORKDIR /srv/connector
COPY --from=build /wheels /tmp/wheels
RUN pip install --no-cache-dir /tmp/wheels/*.whl && rm -rf /tmp/wheels \
    && mkdir -p var out && chown connector:connector var out
COPY config ./config
COPY examples ./examples

USER connector
EXPOSE 8080
# Default: the scheduler. The API is `connector serve --host 0.0.0.0 --workers N` (gunicorn,
# about two per core; docs/scaling.md); a Celery worker is `connector worker`.
CMD ["connector", "scheduler"]
