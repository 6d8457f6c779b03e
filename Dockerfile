# One image for every mode: `scrapers run NAME --option value` (one job per container),
# `scrapers demo`, and later `scrapers serve`.
FROM python:3.11-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    COURTSIDE_REGISTRY=/app/registry.yaml \
    COURTSIDE_FIXTURES=/app/tests/fixtures \
    COURTSIDE_OUT=/data

WORKDIR /app
COPY pyproject.toml README.md registry.yaml ./
COPY scrapers ./scrapers
COPY proxy ./proxy
COPY tests/fixtures ./tests/fixtures

RUN pip install . \
    && useradd --create-home --uid 10001 courtside \
    && mkdir -p /data \
    && chown courtside /data

USER 10001
ENTRYPOINT ["scrapers"]
CMD ["--help"]
