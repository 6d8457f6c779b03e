# One image for every mode: `scrapers run NAME --option value` (one job per container),
# `scrapers demo`, `scrapers run-many` and `scrapers serve --host 0.0.0.0` (port $PORT or 8080).
#
# BASE_IMAGE: any Debian-family image with python3 >= 3.11 and its venv module. The default is the
# official slim image; `make test-image` passes a local debootstrap'd bookworm instead (the test
# machines cannot reach Docker Hub), so both must keep working: no step may rely on what only one
# of them has (hence python3, not python, and the project in its own venv, since Debian's python3
# refuses `pip install` into the system site-packages).
ARG BASE_IMAGE=python:3.11-slim-bookworm
FROM ${BASE_IMAGE}

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PATH=/opt/courtside/bin:$PATH \
    COURTSIDE_REGISTRY=/app/registry.yaml \
    COURTSIDE_WORKFLOWS=/app/workflows.yaml \
    COURTSIDE_FIXTURES=/app/tests/fixtures \
    COURTSIDE_OUT=/data \
    COURTSIDE_STATE=sqlite:////data/.courtside/state.sqlite

WORKDIR /app
COPY pyproject.toml README.md registry.yaml workflows.yaml ./
COPY scrapers ./scrapers
COPY proxy ./proxy
COPY tests/fixtures ./tests/fixtures

# The venv and /app stay root-owned: the non-root user can run the code but not change it.
RUN python3 -m venv /opt/courtside \
    && pip install . \
    && useradd --create-home --uid 10001 courtside \
    && mkdir -p /data \
    && chown courtside /data

# `docker build --build-arg COURTSIDE_GIT_COMMIT=$(git rev-parse --short HEAD)`: the `revision` label
# of scraper_build_info. Left empty, the setting is unset (an empty variable counts as unset). Last,
# so a new commit alone rebuilds no earlier layer.
ARG COURTSIDE_GIT_COMMIT=""
ENV COURTSIDE_GIT_COMMIT=${COURTSIDE_GIT_COMMIT}

USER 10001
EXPOSE 8080
ENTRYPOINT ["scrapers"]
CMD ["--help"]
