"""deploy/ says only what the code does: its variables are settings, its command lines are the CLI's,
its jobs file plans, its platform timeouts leave each run its deadline, the tick runs every 5 minutes
on both platforms within what its stall alert allows, and Prometheus loads its configuration with the
project's alert rules.

The files are templates (`${NAME}` placeholders, filled by envsubst; deploy/README.md), parsed here
as YAML as they are.
"""

from __future__ import annotations

import contextlib
import io
import re
import shlex
import shutil
import subprocess
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime
from functools import cache
from pathlib import Path
from typing import Any

import pytest
import yaml

from scrapers.cli import main
from scrapers.cli.common import parse_option_flags
from scrapers.core.clock import FrozenClock
from scrapers.core.registry import load_registry
from scrapers.core.settings import Settings
from scrapers.pipeline.jobs import JobRequest, plan_job, read_job_file
from tests.conftest import PROJECT_ROOT

DEPLOY = PROJECT_ROOT / "deploy"
MANIFESTS = sorted([*DEPLOY.glob("cloudrun/*.yaml"), *DEPLOY.glob("kubernetes/*.yaml")])
COMPOSE = DEPLOY / "compose" / "compose.yaml"
PROMETHEUS_CONFIG = DEPLOY / "compose" / "prometheus.yml"
JOBS_FILES = sorted(DEPLOY.glob("jobs/*.yaml"))
PLACEHOLDER = re.compile(r"\$\{([A-Z][A-Z0-9_]*)\}")
# `${IMAGE:-courtside}`: compose's own interpolation, a variable with a default.
COMPOSE_VARIABLE = re.compile(r"^\$\{[A-Z][A-Z0-9_]*(?::-(?P<default>[^}]*))?\}$")
CLOCK = FrozenClock(datetime(2024, 1, 16, 3, 0, tzinfo=UTC))
TICK_CLOUD_RUN = DEPLOY / "cloudrun" / "tick-job.yaml"
TICK_CRONJOB = DEPLOY / "kubernetes" / "tick-cronjob.yaml"
ALERT_RULES = PROJECT_ROOT / "dashboards" / "alerts.yml"
# `*/N * * * *`: every N minutes, the one form of tick schedule the checks below understand.
EVERY_MINUTES = re.compile(r"^\*/(\d+) \* \* \* \*$")


def _documents(path: Path) -> list[Any]:
    return [document for document in yaml.safe_load_all(path.read_text()) if document is not None]


def _containers(node: object) -> Iterator[dict[str, Any]]:
    """Every container of a manifest, wherever its kind nests the pod spec."""
    if isinstance(node, Mapping):
        for key, value in node.items():
            if key == "containers" and isinstance(value, list):
                yield from value
            else:
                yield from _containers(value)
    elif isinstance(node, list):
        for item in node:
            yield from _containers(item)


def _find(node: object, key: str) -> Iterator[Any]:
    """Every value of `key` at any depth."""
    if isinstance(node, Mapping):
        for name, value in node.items():
            if name == key:
                yield value
            yield from _find(value, key)
    elif isinstance(node, list):
        for item in node:
            yield from _find(item, key)


def _manifest_containers() -> list[tuple[str, dict[str, Any]]]:
    return [
        (path.relative_to(DEPLOY).as_posix(), container)
        for path in MANIFESTS
        for document in _documents(path)
        for container in _containers(document)
    ]


def _env(container: Mapping[str, Any]) -> dict[str, object]:
    """Name -> value (or the valueFrom mapping) of a manifest container's env list."""
    return {item["name"]: item.get("value", item.get("valueFrom")) for item in container.get("env", [])}


def _compose() -> dict[str, Any]:
    loaded = yaml.safe_load(COMPOSE.read_text())
    assert isinstance(loaded, dict)
    return loaded


def _compose_courtside_services() -> dict[str, dict[str, Any]]:
    """The compose services that run the project's image (the ones built from the Dockerfile)."""
    return {name: service for name, service in _compose()["services"].items() if "build" in service}


def _settings_variables() -> set[str]:
    return {name for field in Settings.model_fields for name in Settings.variables(field)}


def _dockerfile_user() -> str:
    lines = (PROJECT_ROOT / "Dockerfile").read_text().splitlines()
    return [line.split()[1] for line in lines if line.startswith("USER ")][-1]


@cache
def _help(command: str) -> str:
    """`scrapers COMMAND --help`, as the CLI prints it (argparse exits 0 after printing)."""
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed), pytest.raises(SystemExit) as exited:
        main([command, "--help"])
    assert exited.value.code == 0
    return printed.getvalue()


def test_the_deploy_files_are_there() -> None:
    names = {path.relative_to(DEPLOY).as_posix() for path in [*MANIFESTS, COMPOSE, *JOBS_FILES]}
    assert {
        "cloudrun/job.yaml",
        "cloudrun/job-sharded.yaml",
        "cloudrun/service.yaml",
        "kubernetes/cronjob.yaml",
        "kubernetes/indexed-job.yaml",
        "cloudrun/tick-job.yaml",
        "kubernetes/tick-cronjob.yaml",
        "compose/compose.yaml",
        "jobs/nightly.yaml",
    } <= names
    kinds = {document["kind"] for path in MANIFESTS for document in _documents(path)}
    assert {"Job", "Service", "CronJob", "ServiceAccount"} <= kinds


def test_every_variable_the_deploy_files_set_is_a_setting() -> None:
    known = _settings_variables()
    used: dict[str, set[str]] = {}
    for where, container in _manifest_containers():
        used.setdefault(where, set()).update(_env(container))
    for name, service in _compose_courtside_services().items():
        used[f"compose/{name}"] = set(service["environment"])
    # The image's own defaults (ENV lines of the Dockerfile).
    dockerfile = (PROJECT_ROOT / "Dockerfile").read_text()
    used["Dockerfile"] = set(re.findall(r"\b(COURTSIDE_[A-Z0-9_]+)=", dockerfile))
    assert all(used.values()), f"a container sets no variable at all: {used}"
    unknown = {where: sorted(names - known) for where, names in used.items() if names - known}
    assert not unknown, f"not a setting of scrapers/core/settings.py: {unknown}"


def test_every_container_shares_one_redis_and_lands_in_the_bucket() -> None:
    for where, container in _manifest_containers():
        env = _env(container)
        assert env["COURTSIDE_STATE"] == "${REDIS_URL}", where
        assert env["COURTSIDE_OUT"] == "gs://${DATA_BUCKET}", where
        assert env["GOOGLE_CLOUD_PROJECT"] == "${PROJECT_ID}", where
    for name, service in _compose_courtside_services().items():
        assert service["environment"]["COURTSIDE_STATE"] == "redis://redis:6379/0", name
        assert service["environment"]["COURTSIDE_PUSHGATEWAY"] == "http://pushgateway:9091", name


def test_images_are_variables_and_name_no_registry() -> None:
    for where, container in _manifest_containers():
        assert container["image"] == "${IMAGE}", where
    for name, service in _compose()["services"].items():
        matched = COMPOSE_VARIABLE.match(service["image"])
        assert matched, f"compose service {name}: image {service['image']!r} is not a ${{VARIABLE:-default}}"
        default = matched.group("default") or ""
        first = default.split("/")[0] if "/" in default else ""
        assert not re.search(r"[.:]|^localhost$", first), (
            f"compose service {name} names a registry: {default}"
        )


def test_every_placeholder_is_documented() -> None:
    rows = [line for line in (DEPLOY / "README.md").read_text().splitlines() if line.startswith("| `${")]
    documented = {name for row in rows for name in PLACEHOLDER.findall(row.split("|")[1])}
    used = {name for path in MANIFESTS for name in PLACEHOLDER.findall(path.read_text())}
    assert used, "the manifests use no placeholder: the test reads the wrong files"
    assert used <= documented, f"not in deploy/README.md's placeholder table: {sorted(used - documented)}"


def test_every_command_line_is_the_cli_s() -> None:
    registry = load_registry()
    lines = [(where, container["args"]) for where, container in _manifest_containers()]
    lines += [
        (f"compose/{name}", service["command"]) for name, service in _compose_courtside_services().items()
    ]
    jobs_files = {path.name for path in JOBS_FILES}
    for where, args in lines:
        command, rest = args[0], args[1:]
        if command == "run":
            # The scraper and its options, resolved as `scrapers run` resolves them.
            plan_job(JobRequest(rest[0], parse_option_flags(rest[1:])), registry, CLOCK)
            continue
        assert command in ("run-many", "serve", "tick"), f"{where}: {args}"
        assert f"usage: scrapers {command}" in _help(command), f"{where}: no `scrapers {command}`"
        for flag in (token for token in rest if token.startswith("--")):
            assert f"{flag} " in _help(command), f"{where}: `scrapers {command}` has no {flag}"
        if command == "run-many":
            jobs = rest[rest.index("--file") + 1]
            assert Path(jobs).name in jobs_files, f"{where}: {jobs} is none of deploy/jobs/"


@pytest.mark.parametrize("path", JOBS_FILES, ids=lambda path: path.name)
def test_the_jobs_file_plans(path: Path) -> None:
    registry = load_registry()
    requests = read_job_file(path.read_text(), registry.names())
    planned = [plan_job(request, registry, CLOCK) for request in requests]
    assert len(planned) >= 4, "fewer jobs than the sharded jobs have tasks: some tasks would idle"


def test_sharded_jobs_split_the_file_over_their_tasks() -> None:
    [cloud_run] = _documents(DEPLOY / "cloudrun" / "job-sharded.yaml")
    execution = cloud_run["spec"]["template"]["spec"]
    assert execution["taskCount"] > 1
    [container] = _containers(cloud_run)
    assert container["args"][:2] == ["run-many", "--file"]
    [mount] = container["volumeMounts"]
    assert container["args"][2].startswith(mount["mountPath"] + "/")

    [indexed] = _documents(DEPLOY / "kubernetes" / "indexed-job.yaml")
    assert indexed["spec"]["completionMode"] == "Indexed"
    [container] = _containers(indexed)
    # Kubernetes does not pass `completions` to the pod: the manifest must, and must agree.
    assert int(str(_env(container)["COURTSIDE_TASK_COUNT"])) == indexed["spec"]["completions"]
    assert container["args"][:2] == ["run-many", "--file"]
    jobs_mount = next(m for m in container["volumeMounts"] if m["name"] == "jobs")
    assert container["args"][2] == f"{jobs_mount['mountPath']}/nightly.yaml"


def test_platform_time_limits_leave_each_run_its_deadline() -> None:
    """A platform that kills a container before COURTSIDE_JOB_DEADLINE ends its run loses the
    run's completion; the limits must be above it (one-job) or at least it (the service)."""
    for path in MANIFESTS:
        for document in _documents(path):
            deadlines = [float(str(_env(c)["COURTSIDE_JOB_DEADLINE"])) for c in _containers(document)]
            if not deadlines:
                continue
            limits = [*_find(document, "timeoutSeconds"), *_find(document, "activeDeadlineSeconds")]
            assert limits, f"{path.name}: no platform time limit"
            if document["kind"] == "Service":
                assert min(limits) >= max(deadlines), path.name
            else:
                assert min(limits) > max(deadlines), path.name


def _stall_allowance_seconds() -> int:
    """The minutes WorkflowDecisionsStalled allows without a decision (`... > 25 * 60`), in seconds."""
    groups = yaml.safe_load(ALERT_RULES.read_text())["groups"]
    [rule] = [
        rule for group in groups for rule in group["rules"] if rule.get("alert") == "WorkflowDecisionsStalled"
    ]
    found = re.search(r"scraper_workflow_last_decision_timestamp_seconds\) > (\d+) \* 60\b", rule["expr"])
    assert found, rule["expr"]
    return int(found.group(1)) * 60


def _period_seconds(schedule: str) -> int:
    found = EVERY_MINUTES.match(schedule)
    assert found, f"{schedule!r} is not `*/N * * * *`"
    return int(found.group(1)) * 60


def _scheduler_command() -> dict[str, str]:
    """deploy/README.md's `gcloud scheduler jobs create http ...` (one command over `\\` lines),
    as {flag: value} with the job's name under "NAME"."""
    text = (DEPLOY / "README.md").read_text()
    found = re.search(r"^gcloud scheduler jobs create http .*?(?<!\\)$", text, re.MULTILINE | re.DOTALL)
    assert found, "deploy/README.md has no `gcloud scheduler jobs create http` command"
    words = shlex.split(found.group(0).replace("\\\n", " "))
    assert words[:5] == ["gcloud", "scheduler", "jobs", "create", "http"], words
    flags: dict[str, str] = {"NAME": words[5]}
    rest = iter(words[6:])
    for word in rest:
        assert word.startswith("--"), f"{word!r} in the scheduler command is not a flag"
        flags[word] = next(rest)
    return flags


def test_the_tick_runs_every_5_minutes_on_both_platforms() -> None:
    [cronjob] = _documents(TICK_CRONJOB)
    [cloud_run] = _documents(TICK_CLOUD_RUN)
    for where, document in (("kubernetes", cronjob), ("cloudrun", cloud_run)):
        [container] = _containers(document)
        assert container["args"] == ["tick"], where
        # The windows' claims keep a window to one tick only through one shared store.
        assert _env(container)["COURTSIDE_STATE"] == "${REDIS_URL}", where
        assert _env(container)["COURTSIDE_PUSHGATEWAY"] == "${PUSHGATEWAY_URL}", where

    assert cronjob["spec"]["schedule"] == "*/5 * * * *"
    command = _scheduler_command()
    assert command["--schedule"] == cronjob["spec"]["schedule"]
    # The scheduler executes exactly this Cloud Run job (Run Admin API `jobs/NAME:run`), by POST,
    # with an OAuth token (a googleapis.com endpoint takes OAuth, not OIDC).
    name = cloud_run["metadata"]["name"]
    assert command["--uri"] == (
        f"https://run.googleapis.com/v2/projects/$PROJECT_ID/locations/$REGION/jobs/{name}:run"
    )
    assert command["--http-method"] == "POST"
    assert command["--oauth-service-account-email"]
    assert command["--location"] == "$REGION"


def test_the_tick_s_limits_fit_the_stall_alert() -> None:
    """WorkflowDecisionsStalled must not page while ticks run as deployed, and must page soon after
    they stop. A tick pushes its decisions when it ends and the next one may start only after it
    (Forbid) or its claims skip what it holds, so two of the longest ticks back to back plus a
    period must stay under the allowance; a missed start is not retried into the next tick."""
    allowance = _stall_allowance_seconds()
    [cronjob] = _documents(TICK_CRONJOB)
    [cloud_run] = _documents(TICK_CLOUD_RUN)
    period = _period_seconds(cronjob["spec"]["schedule"])
    assert allowance >= 4 * period, "fewer than four missed ticks would page"
    assert allowance <= 3600, "the 45-hour outage must page within the hour"

    spec = cronjob["spec"]
    assert spec["concurrencyPolicy"] == "Forbid"
    # Within one period, so a late start never runs into the next tick's slot; and set at all, or
    # after 100 missed schedules Kubernetes stops starting the CronJob.
    assert 0 < spec["startingDeadlineSeconds"] < period
    job = spec["jobTemplate"]["spec"]
    assert job["backoffLimit"] == 0
    limits = {"kubernetes": job["activeDeadlineSeconds"]}

    task = cloud_run["spec"]["template"]["spec"]["template"]["spec"]
    assert task["maxRetries"] == 0
    limits["cloudrun"] = task["timeoutSeconds"]
    for where, limit in limits.items():
        assert 2 * limit + period < allowance, f"{where}: a {limit} s tick can page WorkflowDecisionsStalled"

    command = _scheduler_command()
    retries = int(command.get("--max-retry-attempts", "0"))
    backoff = int(command.get("--min-backoff", "5s").removesuffix("s"))
    assert retries * backoff < period, "a retried start would run into the next tick"


def test_pods_run_as_the_image_user_on_a_read_only_root() -> None:
    user = int(_dockerfile_user())
    for path in DEPLOY.glob("kubernetes/*.yaml"):
        for document in _documents(path):
            containers = list(_containers(document))
            if not containers:
                continue
            [pod_context] = [
                context for context in _find(document, "securityContext") if "runAsUser" in context
            ]
            assert pod_context["runAsUser"] == user, path.name
            assert pod_context["runAsNonRoot"] is True, path.name
            for container in containers:
                assert container["securityContext"]["readOnlyRootFilesystem"] is True, path.name
                mounted = {mount["mountPath"] for mount in container["volumeMounts"]}
                assert {"/data", "/tmp"} <= mounted, path.name


def test_compose_mounts_files_that_exist() -> None:
    base = COMPOSE.parent
    for name, service in _compose()["services"].items():
        for volume in service.get("volumes", []):
            source = volume.split(":")[0]
            if source.startswith("."):
                assert (base / source).is_file(), f"compose service {name}: {source} does not exist"
        if "build" in service:
            assert (base / service["build"]["context"] / "Dockerfile").is_file()


def test_the_compose_prometheus_loads_its_config_and_the_alert_rules(tmp_path: Path) -> None:
    promtool = shutil.which("promtool")
    if promtool is None:
        pytest.skip("promtool is not installed (apt-get install prometheus)")
    # Laid out as compose mounts them: the config and dashboards/alerts.yml side by side.
    shutil.copy(PROMETHEUS_CONFIG, tmp_path / "prometheus.yml")
    shutil.copy(PROJECT_ROOT / "dashboards" / "alerts.yml", tmp_path / "alerts.yml")
    completed = subprocess.run(
        [promtool, "check", "config", str(tmp_path / "prometheus.yml")],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert completed.returncode == 0, completed.stdout + completed.stderr
    assert re.search(r"SUCCESS: [1-9][0-9]* rules found", completed.stdout), completed.stdout
    config = yaml.safe_load(PROMETHEUS_CONFIG.read_text())
    pushgateway = next(job for job in config["scrape_configs"] if job["job_name"] == "pushgateway")
    assert pushgateway["honor_labels"] is True
