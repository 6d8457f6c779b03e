"""deploy/ says only what the code does: its variables are settings, its command lines are the CLI's,
its jobs file plans, its platform timeouts leave each run its deadline, the tick runs every 5 minutes
on both platforms within what its stall alert allows, the workers drain the subscription that
deploy/README.md creates, with a grace that covers their runs and deadlines their queue alert
allows, and Prometheus loads its configuration with the project's alert rules.

The files are templates (`${NAME}` placeholders, filled by envsubst; deploy/README.md), parsed here
as YAML as they are.
"""

from __future__ import annotations

import argparse
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

from scrapers.cli import main, worker
from scrapers.cli.common import parse_option_flags
from scrapers.core.clock import FrozenClock
from scrapers.core.registry import load_registry
from scrapers.core.settings import Settings
from scrapers.events.delivery import STOP_WAIT_SECONDS
from scrapers.pipeline.jobs import JobRequest, plan_job, read_job_file
from scrapers.pipeline.queue import PullLoop
from scrapers.pipeline.settings import ServiceSettings
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
WORKER_DEPLOYMENT = DEPLOY / "kubernetes" / "worker-deployment.yaml"
WORKER_POOL = DEPLOY / "cloudrun" / "worker-pool.yaml"
# Cloud Run sends SIGKILL this long after SIGTERM, to services, jobs and worker pools alike.
CLOUD_RUN_SIGTERM_SECONDS = 10
# The cluster autoscaler waits at most this long for a pod on a node it removes (its
# --max-graceful-termination-sec default): a longer grace is cut there.
AUTOSCALER_GRACE_SECONDS = 600
# Cloud Run fails a startup probe that has not passed after this long (failureThreshold x period).
CLOUD_RUN_STARTUP_PROBE_SECONDS = 240
PROBES = ("startupProbe", "readinessProbe", "livenessProbe")
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
        "cloudrun/worker-pool.yaml",
        "kubernetes/worker-deployment.yaml",
        "compose/compose.yaml",
        "jobs/nightly.yaml",
    } <= names
    kinds = {document["kind"] for path in MANIFESTS for document in _documents(path)}
    assert {"Job", "Service", "CronJob", "ServiceAccount", "Deployment", "WorkerPool"} <= kinds


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
        assert command in ("run-many", "serve", "tick", "worker"), f"{where}: {args}"
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


def test_sharded_jobs_push_counters_that_add_up_across_their_tasks() -> None:
    for path in (DEPLOY / "cloudrun" / "job-sharded.yaml", DEPLOY / "kubernetes" / "indexed-job.yaml"):
        [container] = _containers(_documents(path)[0])
        env = _env(container)
        # run-many pushes at its end; its counters add up only through one shared store.
        assert env["COURTSIDE_PUSHGATEWAY"] == "${PUSHGATEWAY_URL}", path.name
        assert env["COURTSIDE_STATE"] == "${REDIS_URL}", path.name


def test_platform_time_limits_leave_each_run_its_deadline() -> None:
    """A platform that kills a container before COURTSIDE_JOB_DEADLINE ends its run loses the
    run's completion; the limits must be above it (one-job) or at least it (the service). Workers
    run until stopped: their bound is the grace after SIGTERM (test_worker_grace_...)."""
    for path in MANIFESTS:
        for document in _documents(path):
            deadlines = [float(str(_env(c)["COURTSIDE_JOB_DEADLINE"])) for c in _containers(document)]
            if not deadlines or document["kind"] in ("Deployment", "WorkerPool"):
                continue
            limits = [
                *_find(_without_probes(document), "timeoutSeconds"),
                *_find(document, "activeDeadlineSeconds"),
            ]
            assert limits, f"{path.name}: no platform time limit"
            if document["kind"] == "Service":
                assert min(limits) >= max(deadlines), path.name
            else:
                assert min(limits) > max(deadlines), path.name


def _without_probes(node: object) -> object:
    """`node` without its probes, whose `timeoutSeconds` bound one probe, not a run."""
    if isinstance(node, Mapping):
        return {key: _without_probes(value) for key, value in node.items() if key not in PROBES}
    if isinstance(node, list):
        return [_without_probes(item) for item in node]
    return node


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


# --- the work queue's workers ------------------------------------------------------------------------


def _worker_container(path: Path) -> tuple[dict[str, Any], dict[str, Any]]:
    """The manifest that runs `scrapers worker` in `path`, and its one container."""
    [document] = [document for document in _documents(path) if list(_containers(document))]
    [container] = _containers(document)
    return document, container


def _worker_args(container: Mapping[str, Any]) -> argparse.Namespace:
    """The container's command line, parsed strictly by `scrapers worker`'s own parser."""
    parser = argparse.ArgumentParser(prog="scrapers", allow_abbrev=False)
    worker.add_commands(parser.add_subparsers(dest="command"))
    args = parser.parse_args(container["args"])
    assert args.command == "worker", container["args"]
    return args


def _default(name: str) -> Any:
    """A setting's default, as a process without the variable reads it."""
    return Settings.model_fields[name].get_default(call_default_factory=True)


def _seconds(container: Mapping[str, Any], name: str) -> float:
    """A duration setting as the container sets it, else its default."""
    value = _env(container).get(Settings.variable(name))
    return float(str(value)) if value is not None else float(_default(name))


def _gcloud(prefix: str) -> list[dict[str, str]]:
    """deploy/README.md's commands starting with `prefix` (one command over `\\` lines each), as
    {flag: value} with the positional words under "ARGS" (space-separated)."""
    text = (DEPLOY / "README.md").read_text()
    commands = []
    for found in re.finditer(rf"^ *{re.escape(prefix)} .*?(?<!\\)$", text, re.MULTILINE | re.DOTALL):
        words = shlex.split(found.group(0).replace("\\\n", " "))[len(prefix.split()) :]
        flags: dict[str, str] = {"ARGS": ""}
        rest = iter(words)
        for word in rest:
            if not word.startswith("--"):
                flags["ARGS"] = f"{flags['ARGS']} {word}".strip()
            elif "=" in word:
                name, _, value = word.partition("=")
                flags[name] = value
            else:
                flags[word] = next(rest)
        commands.append(flags)
    assert commands, f"deploy/README.md has no `{prefix}` command"
    return commands


def _duration_seconds(text: str) -> int:
    found = re.fullmatch(r"(\d+)([smhd])", text)
    assert found, f"{text!r} is not a duration like 600s"
    return int(found.group(1)) * {"s": 1, "m": 60, "h": 3600, "d": 86400}[found.group(2)]


def _queue_rule() -> dict[str, Any]:
    groups = yaml.safe_load(ALERT_RULES.read_text())["groups"]
    [rule] = [rule for group in groups for rule in group["rules"] if rule.get("alert") == "QueueNotDraining"]
    assert isinstance(rule, dict)
    return rule


@pytest.mark.parametrize("path", [WORKER_DEPLOYMENT, WORKER_POOL], ids=lambda path: path.parent.name)
def test_workers_drain_the_subscription_the_readme_creates(path: Path) -> None:
    _, container = _worker_container(path)
    env = _env(container)
    args = _worker_args(container)
    assert args.subscription is None, "the subscription is the setting, as the README's commands name it"
    subscription = str(env["COURTSIDE_JOBS_SUBSCRIPTION"])
    jobs_topic, dead_topic = str(env["COURTSIDE_JOBS_TOPIC"]), str(env["COURTSIDE_JOBS_DEAD_LETTER_TOPIC"])
    # The same names the CLI uses when nothing is set: `backfill --enqueue` on a laptop reaches them.
    assert (subscription, jobs_topic, dead_topic) == tuple(
        _default(name) for name in ("jobs_subscription", "jobs_topic", "jobs_dead_letter_topic")
    )
    assert int(str(env["COURTSIDE_JOBS_MAX_ATTEMPTS"])) == _default("jobs_max_attempts")
    # Scraped where they run: a long-lived worker's pushed series would outlive it.
    assert "COURTSIDE_PUSHGATEWAY" not in env

    created = {
        topic for command in _gcloud("gcloud pubsub topics create") for topic in command["ARGS"].split()
    }
    assert {jobs_topic, dead_topic} <= created
    subscriptions = {command["ARGS"]: command for command in _gcloud("gcloud pubsub subscriptions create")}
    pulled = subscriptions[subscription]
    assert pulled["--topic"] == jobs_topic
    assert pulled["--dead-letter-topic"] == dead_topic
    # The backstop catches only what crashes every worker: Pub/Sub also counts nacks for jobs
    # another worker holds and leases lost with a killed worker, so it must leave the workers'
    # own count room (and Pub/Sub takes 5 to 100).
    backstop = int(pulled["--max-delivery-attempts"])
    assert 5 <= backstop <= 100
    assert backstop >= 2 * int(str(env["COURTSIDE_JOBS_MAX_ATTEMPTS"]))
    # Held until the worker's first lease extension; Pub/Sub takes 10 to 600 s.
    assert PullLoop.LEASE_SECONDS <= int(pulled["--ack-deadline"]) <= 600
    assert (
        0
        <= _duration_seconds(pulled["--min-retry-delay"])
        <= _duration_seconds(pulled["--max-retry-delay"])
        <= 600
    )
    assert pulled["--expiration-period"] == "never"
    assert any(command["--topic"] == dead_topic for command in subscriptions.values()), (
        "no one can read dead letters"
    )

    granted = [
        (command["ARGS"], command["--role"], command["--member"])
        for kind in ("topics", "subscriptions")
        for command in _gcloud(f"gcloud pubsub {kind} add-iam-policy-binding")
    ]
    # The Pub/Sub service agent, for the backstop; the fleet's account, for the workers (the topics
    # in a loop).
    assert (dead_topic, "roles/pubsub.publisher", "$PUBSUB_AGENT") in granted
    assert (subscription, "roles/pubsub.subscriber", "$PUBSUB_AGENT") in granted
    assert (subscription, "roles/pubsub.subscriber", "$SA") in granted
    assert ("$topic", "roles/pubsub.publisher", "$SA") in granted
    loop = re.search(r"^for topic in (.*); do$", (DEPLOY / "README.md").read_text(), re.MULTILINE)
    assert loop, "deploy/README.md grants the fleet's account no topic"
    assert set(loop.group(1).split()) == {jobs_topic, dead_topic}


def test_the_worker_deployment_s_ports_and_probes_agree() -> None:
    document, container = _worker_container(WORKER_DEPLOYMENT)
    port = _worker_args(container).port
    [metrics] = container["ports"]
    assert (metrics["name"], metrics["containerPort"]) == ("metrics", port)
    pod = document["spec"]["template"]
    annotations = pod["metadata"]["annotations"]
    assert annotations["prometheus.io/scrape"] == "true"
    assert annotations["prometheus.io/port"] == str(port)
    assert annotations["prometheus.io/path"] == "/metrics"
    for probe in PROBES:
        assert container[probe]["httpGet"]["path"] == "/health", probe
        assert container[probe]["httpGet"]["port"] in (port, metrics["name"]), probe
    # The rollout waits for a new pod before an old one drains; the selector picks the pods.
    assert document["spec"]["strategy"]["rollingUpdate"]["maxUnavailable"] == 0
    labels = pod["metadata"]["labels"]
    assert document["spec"]["selector"]["matchLabels"].items() <= labels.items()
    [budget] = [d for d in _documents(WORKER_DEPLOYMENT) if d["kind"] == "PodDisruptionBudget"]
    assert budget["spec"]["selector"]["matchLabels"] == document["spec"]["selector"]["matchLabels"]


def test_the_worker_pool_s_probes_agree_with_its_port() -> None:
    document, container = _worker_container(WORKER_POOL)
    port = _worker_args(container).port
    assert document["metadata"]["annotations"]["run.googleapis.com/scalingMode"] == "manual"
    assert int(document["metadata"]["annotations"]["run.googleapis.com/manualInstanceCount"]) >= 1
    for probe in ("startupProbe", "livenessProbe"):
        assert container[probe]["httpGet"] == {"path": "/health", "port": port}, probe
    startup = container["startupProbe"]
    assert startup["failureThreshold"] * startup["periodSeconds"] <= CLOUD_RUN_STARTUP_PROBE_SECONDS


def test_worker_grace_covers_a_run_on_kubernetes() -> None:
    """SIGTERM: the worker stops pulling, its runs get COURTSIDE_SHUTDOWN_GRACE_SECONDS, then are
    answered (children published, acked or nacked) within COURTSIDE_PUBLISH_TIMEOUT. Kubernetes
    lets the grace cover a whole run, so a rollout never cuts one off (it would be fetched again)."""
    document, container = _worker_container(WORKER_DEPLOYMENT)
    longest_run = _seconds(container, "job_deadline") + ServiceSettings().deadline_grace_seconds
    shutdown_grace = _seconds(container, "shutdown_grace")
    assert shutdown_grace >= longest_run, "a rollout would cut runs off"
    termination = document["spec"]["template"]["spec"]["terminationGracePeriodSeconds"]
    assert termination >= min(shutdown_grace, longest_run) + _seconds(container, "publish_timeout")
    assert termination <= AUTOSCALER_GRACE_SECONDS


def test_worker_grace_fits_cloud_run_s_ten_seconds() -> None:
    """Cloud Run's SIGKILL comes 10 s after SIGTERM: the grace, then a cut-off run's publish (waited
    for at most STOP_WAIT_SECONDS), must end before it, with a second for the answers."""
    _, container = _worker_container(WORKER_POOL)
    assert _seconds(container, "shutdown_grace") + STOP_WAIT_SECONDS + 1 <= CLOUD_RUN_SIGTERM_SECONDS


def test_queue_consumers_deadlines_fit_the_queue_alert() -> None:
    """QueueNotDraining pages a worker that holds jobs for its `for` without answering one, so no
    consumer's run (its deadline, the core's grace and the answer's publish) may take that long:
    the workers, the service's push route, and the default deadline."""
    rule = _queue_rule()
    allowance = _duration_seconds(rule["for"])
    consumers = [
        (f"{path.relative_to(DEPLOY)}", container)
        for path in MANIFESTS
        for document in _documents(path)
        for container in _containers(document)
        if container["args"][0] in ("worker", "serve")
    ]
    assert {where.split("/")[0] for where, _ in consumers} == {"cloudrun", "kubernetes"}
    grace = ServiceSettings().deadline_grace_seconds
    for where, container in consumers:
        held = _seconds(container, "job_deadline") + grace + _seconds(container, "publish_timeout")
        assert held < allowance, f"{where}: a {held:g} s run would page QueueNotDraining"
    assert float(_default("job_deadline")) + grace < allowance

    # The fleet half: at least COURTSIDE_JOBS_MAX_ATTEMPTS nacks (one job alone is acked, as
    # dead-lettered, after fewer), counted over windows longer than the slowest redelivery.
    found = re.search(r'answer="nack"\}\[(\d+)m\]\)\) >= (\d+)', rule["expr"])
    assert found, rule["expr"]
    window, nacks = int(found.group(1)) * 60, int(found.group(2))
    assert nacks == _default("jobs_max_attempts")
    [pulled] = [
        c for c in _gcloud("gcloud pubsub subscriptions create") if c["ARGS"] == "courtside-jobs-worker"
    ]
    assert window > _duration_seconds(pulled["--max-retry-delay"])
