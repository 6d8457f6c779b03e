# One image for every mode: `scrapers run NAME --option value` (one job per container),
# `scrapers demo`, `scrapers run-many` and `scrapers serve --host 0.0.0.0` (port $PORT or 8080).
FROM python:3.11-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    COURTSIDE_REGISTRY=/app/registry.yaml \
    COURTSIDE_FIXTURES=/app/tests/fixtures \
    COURTSIDE_OUT=/data \
    COURTSIDE_STATE=sqlite:////data/.courtside/state.sqlite

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
EXPOSE 8080
ENTRYPOINT ["scrapers"]
CMD ["--help"]
