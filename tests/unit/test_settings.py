"""Settings: every environment variable read once, typed and validated, secrets never shown.

Each test builds Settings from a mapping, exactly as the CLI builds it from os.environ.
"""

from __future__ import annotations

import ast
from pathlib import Path
from typing import Any

import pytest
from pydantic import SecretStr

from scrapers.core.errors import EXIT_USAGE, SettingsError
from scrapers.core.logs import LogFormat
from scrapers.core.registry import load_registry
from scrapers.core.settings import ScraperConcurrency, Settings
from scrapers.pipeline.settings import ServiceSettings
from tests.conftest import PROJECT_ROOT

# variable, what a deployment sets, the field and the value it must become.
EVERY_VARIABLE: list[tuple[str, str, str, object]] = [
    ("COURTSIDE_OUT", "gs://nba-scraped-data", "out", "gs://nba-scraped-data"),
    ("COURTSIDE_FIXTURES", "/srv/fixtures", "fixtures", Path("/srv/fixtures")),
    ("COURTSIDE_REGISTRY", str(PROJECT_ROOT / "registry.yaml"), "registry", PROJECT_ROOT / "registry.yaml"),
    (
        "COURTSIDE_WORKFLOWS",
        str(PROJECT_ROOT / "workflows.yaml"),
        "workflows",
        PROJECT_ROOT / "workflows.yaml",
    ),
    (
        "COURTSIDE_UPSTREAMS",
        "https://stats.nba.com=http://127.0.0.1:8101, https://cdn.nba.com=http://127.0.0.1:8102",
        "upstreams",
        {"https://stats.nba.com": "http://127.0.0.1:8101", "https://cdn.nba.com": "http://127.0.0.1:8102"},
    ),
    ("COURTSIDE_STATE", "redis://redis:6379/0", "state", "redis://redis:6379/0"),
    (
        "COURTSIDE_PROXIES_FILE",
        str(PROJECT_ROOT / "registry.yaml"),
        "proxies_file",
        PROJECT_ROOT / "registry.yaml",
    ),
    ("ODDS_API_KEY", "odds-key-1234", "odds_api_key", SecretStr("odds-key-1234")),
    ("BDL_API_KEY", "bdl-key-1234", "bdl_api_key", SecretStr("bdl-key-1234")),
    ("BETTINGPROS_API_KEY", "bp-key-1234", "bettingpros_api_key", SecretStr("bp-key-1234")),
    ("GOOGLE_CLOUD_PROJECT", "nba-props-platform", "project", "nba-props-platform"),
    ("GCP_PROJECT", "old-platform-project", "project", "old-platform-project"),
    ("COURTSIDE_TOPIC", "completions", "topic", "completions"),
    ("COURTSIDE_JOBS_TOPIC", "backfill-jobs", "jobs_topic", "backfill-jobs"),
    ("COURTSIDE_JOBS_SUBSCRIPTION", "backfill-workers", "jobs_subscription", "backfill-workers"),
    ("COURTSIDE_JOBS_DEAD_LETTER_TOPIC", "jobs-dlq", "jobs_dead_letter_topic", "jobs-dlq"),
    ("COURTSIDE_JOBS_MAX_ATTEMPTS", "3", "jobs_max_attempts", 3),
    ("COURTSIDE_CLAIM_SECONDS", "30", "claim_seconds", 30.0),
    ("COURTSIDE_PUBLISH_TIMEOUT", "2.5", "publish_timeout", 2.5),
    ("COURTSIDE_OUTBOX_RETENTION_SECONDS", "3600", "outbox_retention", 3600.0),
    ("STORAGE_EMULATOR_HOST", "http://127.0.0.1:9023", "storage_emulator_host", "http://127.0.0.1:9023"),
    ("PUBSUB_EMULATOR_HOST", "127.0.0.1:8085", "pubsub_emulator_host", "127.0.0.1:8085"),
    ("COURTSIDE_PUSHGATEWAY", "http://gw:9091", "pushgateway", "http://gw:9091"),
    ("COURTSIDE_GIT_COMMIT", "9b6703e", "git_commit", "9b6703e"),
    ("COURTSIDE_SHUTDOWN_GRACE_SECONDS", "1.5", "shutdown_grace", 1.5),
    ("COURTSIDE_JOB_DEADLINE", "60", "job_deadline", 60.0),
    ("COURTSIDE_SERVICE_JOB_DEADLINE", "45", "job_deadline", 45.0),  # its old name, still read
    ("COURTSIDE_SERVICE_HOST", "0.0.0.0", "service_host", "0.0.0.0"),
    ("PORT", "0", "port", 0),
    ("COURTSIDE_SERVICE_TOKEN", "token-5678", "service_token", SecretStr("token-5678")),
    ("COURTSIDE_SERVICE_MAX_BODY_BYTES", "1024", "service_max_body_bytes", 1024),
    ("COURTSIDE_SERVICE_MAX_IN_FLIGHT", "3", "service_max_in_flight", 3),
    (
        "COURTSIDE_SERVICE_SCRAPER_CONCURRENCY",
        "2, bdl_games=1,oddsa_player_props=5",
        "service_scraper_concurrency",
        ScraperConcurrency(default=2, overrides={"bdl_games": 1, "oddsa_player_props": 5}),
    ),
    ("COURTSIDE_SERVICE_FAN_OUT_CONCURRENCY", "16", "service_fan_out_concurrency", 16),
    ("COURTSIDE_SERVICE_SHUTDOWN_TIMEOUT", "0.2", "service_shutdown_timeout", 0.2),
    ("COURTSIDE_SERVICE_HEADER_TIMEOUT_SECONDS", "2.5", "service_header_timeout", 2.5),
    ("COURTSIDE_SERVICE_BODY_TIMEOUT_SECONDS", "3.5", "service_body_timeout", 3.5),
    ("CLOUD_RUN_JOB", "nba", "cloud_run_job", "nba"),
    ("CLOUD_RUN_EXECUTION", "nba-x7k2p", "cloud_run_execution", "nba-x7k2p"),
    ("CLOUD_RUN_TASK_INDEX", "3", "cloud_run_task_index", "3"),
    ("CLOUD_RUN_TASK_ATTEMPT", "1", "cloud_run_task_attempt", "1"),
    ("CLOUD_RUN_TASK_COUNT", "4", "cloud_run_task_count", 4),
    ("K_SERVICE", "courtside", "k_service", "courtside"),
    ("KUBERNETES_SERVICE_HOST", "10.96.0.1", "kubernetes_service_host", "10.96.0.1"),
    ("JOB_COMPLETION_INDEX", "3", "job_completion_index", 3),
    ("COURTSIDE_TASK_COUNT", "4", "task_count", 4),
    ("COURTSIDE_LOG_FORMAT", "json", "log_format", LogFormat.JSON),
]
SECRETS = {
    "ODDS_API_KEY": "odds-key-1234",
    "BDL_API_KEY": "bdl-key-1234",
    "COURTSIDE_SERVICE_TOKEN": "tok-5678",
}


@pytest.mark.parametrize(("variable", "raw", "field", "expected"), EVERY_VARIABLE, ids=lambda v: str(v)[:40])
def test_every_variable_is_read_under_its_deployed_name(
    variable: str, raw: str, field: str, expected: object
) -> None:
    settings = Settings.from_env({variable: raw})

    assert getattr(settings, field) == expected
    assert getattr(Settings.from_env({}), field) != expected  # the value came from the variable


def test_the_cases_above_cover_every_setting() -> None:
    # A new field without a case here fails, so every variable stays tested by its real name.
    declared = {name for field in Settings.model_fields for name in Settings.variables(field)}
    assert {variable for variable, *_ in EVERY_VARIABLE} == declared


def test_defaults_of_an_empty_environment() -> None:
    settings = Settings.from_env({})

    assert settings.out == "./data"
    assert (settings.fixtures, settings.registry, settings.state) == (None, None, None)
    assert settings.upstreams == {}
    assert settings.topic == "nba-phase1-scrapers-complete"
    assert settings.publish_timeout == 60.0
    assert (settings.service_host, settings.port) == (None, 8080)
    assert (settings.log_format, settings.platform) == (LogFormat.AUTO, None)
    assert settings.service_scraper_concurrency == ScraperConcurrency(default=4, overrides={})
    assert (settings.api_keys, settings.secret_values(), settings.execution) == ({}, [], {})


def test_an_empty_variable_means_unset() -> None:
    settings = Settings.from_env(
        {"COURTSIDE_OUT": "", "PORT": "", "COURTSIDE_UPSTREAMS": "", "ODDS_API_KEY": ""}
    )

    assert (settings.out, settings.port, settings.upstreams, settings.odds_api_key) == (
        "./data",
        8080,
        {},
        None,
    )


def test_the_standard_project_variable_wins_over_the_old_one() -> None:
    settings = Settings.from_env({"GCP_PROJECT": "old", "GOOGLE_CLOUD_PROJECT": "new"})

    assert settings.project == "new"


def test_the_job_deadline_under_its_new_name_wins_over_the_old_one() -> None:
    settings = Settings.from_env({"COURTSIDE_SERVICE_JOB_DEADLINE": "45", "COURTSIDE_JOB_DEADLINE": "60"})

    assert settings.job_deadline == 60.0


def test_a_bad_value_is_reported_under_the_spelling_that_was_set() -> None:
    with pytest.raises(SettingsError) as caught:
        Settings.from_env({"COURTSIDE_SERVICE_JOB_DEADLINE": "15m"})

    (message,) = caught.value.problems
    assert message.startswith("COURTSIDE_SERVICE_JOB_DEADLINE='15m': ")
    assert message.endswith("(example: COURTSIDE_SERVICE_JOB_DEADLINE=900)")


def test_only_the_given_environment_is_read(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COURTSIDE_OUT", "/from/the/process")
    monkeypatch.setenv("ODDS_API_KEY", "process-key")

    settings = Settings.from_env({})

    assert settings.out == "./data"
    assert settings.secret("ODDS_API_KEY") is None


def test_a_whole_scraper_concurrency_setting_without_a_default_keeps_the_default() -> None:
    settings = Settings.from_env({"COURTSIDE_SERVICE_SCRAPER_CONCURRENCY": "bdl_games=1"})

    assert settings.service_scraper_concurrency == ScraperConcurrency(default=4, overrides={"bdl_games": 1})


# --- bad values: exit 2, naming the variable, what is wrong and an example ------------------------


@pytest.mark.parametrize(
    ("variable", "raw", "problem", "example"),
    [
        ("COURTSIDE_SERVICE_MAX_IN_FLIGHT", "lots", "valid integer", "32"),
        ("COURTSIDE_SERVICE_MAX_IN_FLIGHT", "0", "greater than 0", "32"),
        ("COURTSIDE_SERVICE_MAX_BODY_BYTES", "-5", "greater than 0", "65536"),
        ("COURTSIDE_SERVICE_FAN_OUT_CONCURRENCY", "1.5", "valid integer", "8"),
        ("COURTSIDE_JOB_DEADLINE", "15m", "valid number", "900"),
        ("COURTSIDE_SERVICE_BODY_TIMEOUT_SECONDS", "0", "greater than 0", "15"),
        ("COURTSIDE_SERVICE_SHUTDOWN_TIMEOUT", "0", "greater than 0", "8"),
        ("COURTSIDE_PUBLISH_TIMEOUT", "soon", "valid number", "30"),
        ("PORT", "http", "valid integer", "8080"),
        ("PORT", "70000", "less than or equal to 65535", "8080"),
        ("COURTSIDE_SERVICE_SCRAPER_CONCURRENCY", "four", "'four' is not N or SCRAPER=N", "4,bdl_games=1"),
        ("COURTSIDE_SERVICE_SCRAPER_CONCURRENCY", "4,=2", "'=2' is not N or SCRAPER=N", "4,bdl_games=1"),
        ("COURTSIDE_SERVICE_SCRAPER_CONCURRENCY", "bdl_games=0", "N > 0", "4,bdl_games=1"),
        (
            "COURTSIDE_UPSTREAMS",
            "stats.nba.com=127.0.0.1:8101",
            "is not BASE=REPLACEMENT",
            "https://stats.nba.com=http://127.0.0.1:8101",
        ),
        ("COURTSIDE_REGISTRY", "/nowhere/registry.yaml", "does not point to a file", "/app/registry.yaml"),
        ("COURTSIDE_WORKFLOWS", "/nowhere/workflows.yaml", "does not point to a file", "/app/workflows.yaml"),
        ("COURTSIDE_PROXIES_FILE", "/nowhere/proxies.yaml", "does not point to a file", "/etc/"),
        ("COURTSIDE_LOG_FORMAT", "yaml", "'auto', 'json' or 'text'", "json"),
        ("JOB_COMPLETION_INDEX", "-1", "greater than or equal to 0", "3"),
        ("COURTSIDE_TASK_COUNT", "0", "greater than 0", "4"),
    ],
)
def test_a_bad_value_names_the_variable_the_problem_and_an_example(
    variable: str, raw: str, problem: str, example: str
) -> None:
    with pytest.raises(SettingsError) as caught:
        Settings.from_env({variable: raw})

    (message,) = caught.value.problems
    assert message.startswith(f"{variable}={raw!r}: ")
    assert problem in message
    assert f"(example: {variable}={example}" in message
    assert caught.value.exit_code == EXIT_USAGE
    assert str(caught.value) == message


def test_every_bad_variable_is_reported_at_once() -> None:
    with pytest.raises(SettingsError) as caught:
        Settings.from_env({"PORT": "x", "COURTSIDE_PUBLISH_TIMEOUT": "-1", "COURTSIDE_OUT": "./fine"})

    assert [problem.split("=")[0] for problem in caught.value.problems] == [
        "COURTSIDE_PUBLISH_TIMEOUT",
        "PORT",
    ]
    assert str(caught.value).startswith("bad environment settings:\n  ")


# --- secrets ---------------------------------------------------------------------------------------


def test_secrets_are_never_in_repr_str_dumps_or_errors() -> None:
    settings = Settings.from_env(SECRETS)
    with pytest.raises(SettingsError) as caught:
        Settings.from_env({**SECRETS, "PORT": "x"})

    shown = [repr(settings), str(settings), settings.model_dump_json(), str(caught.value)]
    shown.append(repr(ServiceSettings.from_settings(settings)))
    for text in shown:
        for value in SECRETS.values():
            assert value not in text
    # ... and yet they are there for the code that needs them.
    assert settings.secret("ODDS_API_KEY") == "odds-key-1234"
    assert sorted(settings.secret_values()) == sorted(SECRETS.values())
    assert ServiceSettings.from_settings(settings).token == "tok-5678"


def test_a_secret_named_elsewhere_is_read_by_name_but_no_declared_setting_is_a_secret() -> None:
    # A proxy's credentials_env (named in the proxies file) or a scraper's own SecretRef.
    settings = Settings.from_env({"PROXYFUEL_CREDENTIALS": "user:pw", "COURTSIDE_OUT": "/data"})

    assert settings.secret("PROXYFUEL_CREDENTIALS") == "user:pw"
    assert settings.secret("DECODO_PROXY_CREDENTIALS") is None
    assert settings.secret("COURTSIDE_OUT") is None


def test_the_execution_of_a_cloud_run_task_uses_lower_case_names() -> None:
    settings = Settings.from_env({"CLOUD_RUN_EXECUTION": "nba-x7k2p", "CLOUD_RUN_TASK_INDEX": "3"})

    assert settings.execution == {"cloud_run_execution": "nba-x7k2p", "cloud_run_task_index": "3"}


# --- the service's view ----------------------------------------------------------------------------


def test_service_settings_come_from_the_settings() -> None:
    settings = Settings.from_env(
        {
            "COURTSIDE_SERVICE_TOKEN": "  tok-5678 ",
            "COURTSIDE_SERVICE_MAX_BODY_BYTES": "1024",
            "COURTSIDE_SERVICE_MAX_IN_FLIGHT": "3",
            "COURTSIDE_SERVICE_SCRAPER_CONCURRENCY": "2,bdl_games=1",
            "COURTSIDE_SERVICE_FAN_OUT_CONCURRENCY": "5",
            "COURTSIDE_SERVICE_JOB_DEADLINE": "60",
            "COURTSIDE_SERVICE_SHUTDOWN_TIMEOUT": "0.5",
            "COURTSIDE_SERVICE_HEADER_TIMEOUT_SECONDS": "3",
            "COURTSIDE_SERVICE_BODY_TIMEOUT_SECONDS": "4",
        }
    )

    service = ServiceSettings.from_settings(settings)

    expected: dict[str, Any] = {
        "token": "tok-5678",
        "max_body_bytes": 1024,
        "max_in_flight": 3,
        "scraper_concurrency": 2,
        "scraper_concurrency_overrides": {"bdl_games": 1},
        "fan_out_concurrency": 5,
        "job_deadline_seconds": 60.0,
        "shutdown_timeout_seconds": 0.5,
        "header_timeout_seconds": 3.0,
        "body_timeout_seconds": 4.0,
    }
    assert {name: getattr(service, name) for name in expected} == expected
    assert (service.concurrency_for("bdl_games"), service.concurrency_for("bdl_injuries")) == (1, 2)
    assert ServiceSettings.from_settings(Settings.from_env({})) == ServiceSettings()


def test_per_scraper_limits_must_name_real_scrapers() -> None:
    registry = load_registry()
    settings = Settings.from_env({"COURTSIDE_SERVICE_SCRAPER_CONCURRENCY": "4,bdl_gmaes=1,bdl_games=2"})

    (problem,) = ServiceSettings.from_settings(settings).problems(registry)

    assert problem.startswith("COURTSIDE_SERVICE_SCRAPER_CONCURRENCY: unknown scraper(s) bdl_gmaes ")
    assert "(example: COURTSIDE_SERVICE_SCRAPER_CONCURRENCY=4," in problem


# --- one place reads the environment --------------------------------------------------------------


def test_no_module_below_the_cli_reads_the_environment() -> None:
    readers = []
    for path in sorted([*(PROJECT_ROOT / "scrapers").rglob("*.py"), *(PROJECT_ROOT / "proxy").rglob("*.py")]):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not isinstance(node, ast.Attribute) or node.attr not in {"environ", "getenv"}:
                continue
            if isinstance(node.value, ast.Name) and node.value.id == "os":
                readers.append(f"{path.relative_to(PROJECT_ROOT)}:{node.lineno}")

    # The CLI reads os.environ once per command (read_settings) and passes Settings down.
    assert [reader.rsplit(":", 1)[0] for reader in readers] == ["scrapers/cli/common.py"]
