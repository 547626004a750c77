# A small runtime image: the connector CLI, API and scheduler.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 \
    CONNECTOR_CONFIG_DIR=/srv/connector/config CONNECTOR_DATA_DIR=/srv/connector/var
WORKDIR /srv/connector

COPY pyproject.toml README.md ./
COPY connector ./connector
RUN python connector/web/assets.py . && pip install --no-cache-dir . && useradd --system --home /srv/connector connector \
    && mkdir -p var out && chown connector var out
COPY config ./config
COPY examples ./examples

USER connector
EXPOSE 8080
# Default: the scheduler. Override with e.g. `connector serve --host 0.0.0.0` for the API.
CMD ["connector", "scheduler"]
