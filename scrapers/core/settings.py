"""Every environment setting of the fleet, in one typed object read once per process.

`Settings.from_env(os.environ)` (the CLI does this when a command starts) validates every variable
at once: a bad value is a `SettingsError` naming the variable, what is wrong and an example (exit 2),
before anything runs. The object is then passed down; no module below the CLI reads the environment.

Variable names are exactly the ones deployments already set. Secrets (the API keys, the service
token) are `SecretStr`: never in a repr, a log line or an error. Two kinds of secret stay dynamic,
because code or a file names them rather than this table: the variable a proxy's `credentials_env`
names in the COURTSIDE_PROXIES_FILE, and a scraper's `SecretRef(env=...)` beyond the three API keys
declared here. `Settings.secret(name)` answers both from the environment it was built from.

`Locations` is where one command reads and writes: its flags first, then these settings.
"""

from __future__ import annotations

import enum
import types
import typing
from collections.abc import Callable, Mapping
from contextvars import ContextVar
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any

from pydantic import (
    AliasChoices,
    BaseModel,
    ConfigDict,
    Field,
    FilePath,
    NonNegativeInt,
    PositiveFloat,
    PositiveInt,
    PrivateAttr,
    SecretStr,
    ValidationError,
    field_validator,
)
from pydantic.fields import FieldInfo
from pydantic_settings import (
    BaseSettings,
    EnvSettingsSource,
    NoDecode,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
)
from pydantic_settings.sources.utils import parse_env_vars

from scrapers.core.errors import SettingsError
from scrapers.core.logs import LogFormat
from scrapers.core.registry import Registry

# A secret read by variable name: the three API keys, proxy credentials, a scraper's SecretRef.
SecretLookup = Callable[[str], str | None]
# The environment Settings.from_env is reading, for the settings source below.
_GIVEN: ContextVar[Mapping[str, str]] = ContextVar("courtside_environment")


class ScraperConcurrency(BaseModel):
    """`4` or `4,oddsa_player_props=2,nbac_gamebook_pdf=8`: runs of one scraper at a time."""

    model_config = ConfigDict(frozen=True)

    default: int = Field(default=4, gt=0)
    overrides: dict[str, Annotated[int, Field(gt=0)]] = Field(default_factory=dict)

    def __str__(self) -> str:
        return ",".join([str(self.default), *(f"{name}={limit}" for name, limit in self.overrides.items())])


def _setting(env: str | tuple[str, ...], default: Any, description: str, example: str) -> Any:
    """One variable: its name(s) (the first is the documented one), default (a class: built per
    object), meaning and an example for the README and for error messages."""
    names = (env,) if isinstance(env, str) else env
    alias: str | AliasChoices = names[0] if len(names) == 1 else AliasChoices(*names)
    if isinstance(default, type):
        return Field(
            default_factory=default, validation_alias=alias, description=description, examples=[example]
        )
    return Field(default, validation_alias=alias, description=description, examples=[example])


class Settings(BaseSettings):
    """The environment, parsed. Field order is the README table's order."""

    model_config = SettingsConfigDict(
        case_sensitive=True,  # COURTSIDE_OUT, not courtside_out: the names deployments set
        env_ignore_empty=True,  # `VAR=` in a unit file means unset, as it always did
        frozen=True,
        extra="ignore",
    )

    # --- where runs read and write
    out: str = _setting(
        "COURTSIDE_OUT",
        "./data",
        "where documents land: a folder, or `gs://bucket/prefix` for GCS and Pub/Sub (`--out` wins)",
        "gs://nba-scraped-data",
    )
    fixtures: Path | None = _setting(
        "COURTSIDE_FIXTURES",
        None,
        "recorded exchanges for `--replay` and `demo`; unset: `tests/fixtures` beside the registry",
        "/app/tests/fixtures",
    )
    registry: FilePath | None = _setting(
        "COURTSIDE_REGISTRY",
        None,
        "the registry file to load; unset: the project's `registry.yaml`",
        "/app/registry.yaml",
    )
    workflows: FilePath | None = _setting(
        "COURTSIDE_WORKFLOWS",
        None,
        "the workflows file `plan`, `tick` and `check` read (the game-aware schedule); unset: "
        "`workflows.yaml` beside the registry",
        "/app/workflows.yaml",
    )
    upstreams: Annotated[dict[str, str], NoDecode] = _setting(
        "COURTSIDE_UPSTREAMS",
        dict,
        "upstream base URLs pointed elsewhere (a simulator, a staging mirror): `BASE=REPLACEMENT,...`",
        "https://stats.nba.com=http://127.0.0.1:8101",
    )
    # --- the HTTP core's shared state and egress
    state: str | None = _setting(
        "COURTSIDE_STATE",
        None,
        "the state store: `memory`, `sqlite:PATH`, `sqlite:///ABS/PATH` or `redis://host:6379/0`; "
        "unset: SQLite `.courtside/state.sqlite` under the working directory",
        "redis://redis:6379/0",
    )
    proxies_file: FilePath | None = _setting(
        "COURTSIDE_PROXIES_FILE",
        None,
        "the proxy tiers file; each proxy's `credentials_env` names one more variable (`user:password`); "
        "unset: one tier, `direct`",
        "/etc/courtside/proxies.yaml",
    )
    # --- API keys, injected when a request is sent
    odds_api_key: SecretStr | None = _setting("ODDS_API_KEY", None, "The Odds API key (secret)", "<your key>")
    bdl_api_key: SecretStr | None = _setting(
        "BDL_API_KEY", None, "BallDontLie API key (secret)", "<your key>"
    )
    bettingpros_api_key: SecretStr | None = _setting(
        "BETTINGPROS_API_KEY", None, "BettingPros API key (secret)", "<your key>"
    )
    # --- GCS, Pub/Sub and metrics
    project: str | None = _setting(
        ("GOOGLE_CLOUD_PROJECT", "GCP_PROJECT"),
        None,
        "the Google Cloud project completions are published in (required for `gs://` output; "
        "`GCP_PROJECT` is read when `GOOGLE_CLOUD_PROJECT` is unset)",
        "nba-props-platform",
    )
    topic: str = _setting(
        "COURTSIDE_TOPIC", "nba-phase1-scrapers-complete", "the Pub/Sub topic of completions", "my-topic"
    )
    jobs_topic: str = _setting(
        "COURTSIDE_JOBS_TOPIC",
        "courtside-jobs",
        "the Pub/Sub topic of the work queue: `enqueue` and `backfill --enqueue` publish jobs to it, and "
        "a worker publishes fan-out children to it",
        "courtside-jobs",
    )
    jobs_subscription: str = _setting(
        "COURTSIDE_JOBS_SUBSCRIPTION",
        "courtside-jobs-worker",
        "the pull subscription of the jobs topic that `scrapers worker` drains (`--subscription` wins)",
        "courtside-jobs-worker",
    )
    jobs_dead_letter_topic: str = _setting(
        "COURTSIDE_JOBS_DEAD_LETTER_TOPIC",
        "courtside-jobs-dead",
        "the Pub/Sub topic a worker (and the push route) moves a job's message to after "
        "COURTSIDE_JOBS_MAX_ATTEMPTS retryable failures in a row; the ledger and `backfill status` show it",
        "courtside-jobs-dead",
    )
    jobs_max_attempts: PositiveInt = _setting(
        "COURTSIDE_JOBS_MAX_ATTEMPTS",
        5,
        "retryable failures in a row of one job (the ledger counts them) before its message goes to the "
        "dead-letter topic instead of being redelivered",
        "5",
    )
    claim_seconds: PositiveFloat = _setting(
        "COURTSIDE_CLAIM_SECONDS",
        60.0,
        "seconds a job's claim in the ledger lasts without renewal: a worker renews it while the run is "
        "in flight, so a killed worker's job is free again this long after the kill",
        "60",
    )
    publish_timeout: PositiveFloat = _setting(
        "COURTSIDE_PUBLISH_TIMEOUT",
        60.0,
        "seconds one Pub/Sub publish may take before the completion stays in the outbox",
        "30",
    )
    outbox_retention: PositiveFloat = _setting(
        "COURTSIDE_OUTBOX_RETENTION_SECONDS",
        7 * 86400.0,
        "seconds a sent completion stays in the outbox's `sent/` before a sweep (`republish`, the "
        "service) deletes it",
        "604800",
    )
    storage_emulator_host: str | None = _setting(
        "STORAGE_EMULATOR_HOST",
        None,
        "a GCS emulator (read by the library); with PUBSUB_EMULATOR_HOST, no Google credentials needed",
        "http://127.0.0.1:9023",
    )
    pubsub_emulator_host: str | None = _setting(
        "PUBSUB_EMULATOR_HOST", None, "a Pub/Sub emulator (read by the library)", "127.0.0.1:8085"
    )
    pushgateway: str | None = _setting(
        "COURTSIDE_PUSHGATEWAY",
        None,
        "a Prometheus Pushgateway a one-job container, a `run-many` task (and the service at shutdown) "
        "push to",
        "http://pushgateway:9091",
    )
    git_commit: str | None = _setting(
        "COURTSIDE_GIT_COMMIT",
        None,
        "the git commit the image was built from (e.g. `--build-arg` into an `ENV`): the `revision` label "
        "of `scraper_build_info`",
        "9b6703e",
    )
    shutdown_grace: PositiveFloat = _setting(
        "COURTSIDE_SHUTDOWN_GRACE_SECONDS",
        5.0,
        "`run`, `record`, `demo`, `run-many`, `backfill`, `worker`, `tick`: seconds runs in flight get "
        "after SIGTERM/SIGINT before they are cut off (a second signal cuts off at once)",
        "5",
    )
    # Every mode's runs go through one run manager, so the bound is one setting; the service's
    # name for it, from when only the service read it, is still accepted.
    job_deadline: PositiveFloat = _setting(
        ("COURTSIDE_JOB_DEADLINE", "COURTSIDE_SERVICE_JOB_DEADLINE"),
        900.0,
        "the longest one run may take, in seconds, in every mode (`run`, `record`, `demo`, `run-many`, "
        "`serve`); a source's shorter `deadline_seconds` still applies, and a service request may ask for "
        "less (`COURTSIDE_SERVICE_JOB_DEADLINE`, its old name, is read when this one is unset)",
        "900",
    )
    # --- the HTTP service
    service_host: str | None = _setting(
        "COURTSIDE_SERVICE_HOST",
        None,
        "the address `serve` listens on (`--host` wins); unset: `0.0.0.0` where a platform routes traffic "
        "to the container (`K_SERVICE`, `PORT` or `KUBERNETES_SERVICE_HOST` set), `127.0.0.1` elsewhere",
        "0.0.0.0",
    )
    port: Annotated[int, Field(ge=0, le=65535)] = _setting(
        "PORT",
        8080,
        "the port `serve` listens on, and `worker` serves /metrics and /health on (Cloud Run sets it; "
        "`--port` wins)",
        "8080",
    )
    service_token: SecretStr | None = _setting(
        "COURTSIDE_SERVICE_TOKEN",
        None,
        "the bearer token every route but /health and /ready requires (secret); unset: no token",
        "<a long random string>",
    )
    service_max_body_bytes: PositiveInt = _setting(
        "COURTSIDE_SERVICE_MAX_BODY_BYTES", 64 * 1024, "the largest request body (413 beyond)", "65536"
    )
    service_max_in_flight: PositiveInt = _setting(
        "COURTSIDE_SERVICE_MAX_IN_FLIGHT",
        32,
        "runs admitted and not finished (a fan-out counts once); beyond it, 429",
        "32",
    )
    service_scraper_concurrency: Annotated[ScraperConcurrency, NoDecode] = _setting(
        "COURTSIDE_SERVICE_SCRAPER_CONCURRENCY",
        ScraperConcurrency,
        "runs of one scraper at a time, a default and per-scraper limits; more wait in `queued`",
        "4,bdl_games=1",
    )
    service_fan_out_concurrency: PositiveInt = _setting(
        "COURTSIDE_SERVICE_FAN_OUT_CONCURRENCY", 8, "children of one fan-out running at once", "8"
    )
    service_shutdown_timeout: PositiveFloat = _setting(
        "COURTSIDE_SERVICE_SHUTDOWN_TIMEOUT",
        8.0,
        "seconds in-flight runs get after SIGTERM before they are cut off",
        "8",
    )
    service_header_timeout: PositiveFloat = _setting(
        "COURTSIDE_SERVICE_HEADER_TIMEOUT_SECONDS",
        15.0,
        "seconds a connection gets to send a complete request head (from opening or from its last "
        "answer); past it, or idle that long, it is closed",
        "15",
    )
    service_body_timeout: PositiveFloat = _setting(
        "COURTSIDE_SERVICE_BODY_TIMEOUT_SECONDS",
        15.0,
        "seconds the body of `POST /scrape` or `/batch` may take to arrive once its head has; past it the "
        "answer is 408 and the connection is closed",
        "15",
    )
    # --- set by Cloud Run jobs on every task; recorded in the completion and the run summary
    cloud_run_job: str | None = _setting("CLOUD_RUN_JOB", None, "the Cloud Run job (set by Cloud Run)", "nba")
    cloud_run_execution: str | None = _setting(
        "CLOUD_RUN_EXECUTION", None, "the job's execution (set by Cloud Run)", "nba-x7k2p"
    )
    cloud_run_task_index: str | None = _setting(
        "CLOUD_RUN_TASK_INDEX", None, "the task's index in its execution (set by Cloud Run)", "3"
    )
    cloud_run_task_attempt: str | None = _setting(
        "CLOUD_RUN_TASK_ATTEMPT", None, "the task's attempt (set by Cloud Run)", "0"
    )
    cloud_run_task_count: PositiveInt | None = _setting(
        "CLOUD_RUN_TASK_COUNT",
        None,
        "the tasks of the execution (set by Cloud Run): `run-many --file` runs job i of the file on task "
        "i % count",
        "4",
    )
    # --- set by the platform a container runs on: the service's address and the log format follow
    k_service: str | None = _setting(
        "K_SERVICE",
        None,
        "the Cloud Run service (set by Cloud Run): `serve` listens on every interface, logs are JSON",
        "courtside",
    )
    kubernetes_service_host: str | None = _setting(
        "KUBERNETES_SERVICE_HOST",
        None,
        "set by Kubernetes in every pod: `serve` listens on every interface, logs are JSON",
        "10.96.0.1",
    )
    job_completion_index: NonNegativeInt | None = _setting(
        "JOB_COMPLETION_INDEX",
        None,
        "the pod's index in a Kubernetes indexed Job (set by Kubernetes): `run-many --file` runs job i of "
        "the file on index i % COURTSIDE_TASK_COUNT",
        "3",
    )
    task_count: PositiveInt | None = _setting(
        "COURTSIDE_TASK_COUNT",
        None,
        "the indexed Job's `completions` (Kubernetes does not pass it to the pod); required with "
        "JOB_COMPLETION_INDEX",
        "4",
    )
    log_format: LogFormat = _setting(
        "COURTSIDE_LOG_FORMAT",
        LogFormat.AUTO,
        "`json` (one Cloud Logging object a line) or `text`; `auto`: JSON for `serve` and on a platform "
        "(`K_SERVICE`, `CLOUD_RUN_JOB` or `KUBERNETES_SERVICE_HOST` set), text otherwise",
        "json",
    )

    _environment: Mapping[str, str] = PrivateAttr(default_factory=dict)

    @classmethod
    def from_env(cls, environ: Mapping[str, str]) -> Settings:
        """Validate every variable of `environ`; a SettingsError lists every bad one."""
        given = _GIVEN.set(environ)
        try:
            settings = cls()
        except ValidationError as exc:
            raise SettingsError([_problem(error, environ) for error in exc.errors()]) from None
        finally:
            _GIVEN.reset(given)
        # The dynamic secrets (see the module docstring) are looked up here by name.
        settings._environment = dict(environ)
        return settings

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        # Only the environment given to from_env: no .env file, no secrets folder, no arguments.
        environ = _GIVEN.get(None)
        if environ is None:  # rather than quietly reading os.environ a second time
            raise TypeError("build Settings with Settings.from_env(environ)")
        return (_GivenEnvironment(settings_cls, environ),)

    @classmethod
    def variable(cls, field: str) -> str:
        """The documented variable name of a field: `variable("state") == "COURTSIDE_STATE"`."""
        return cls.variables(field)[0]

    @classmethod
    def variables(cls, field: str) -> tuple[str, ...]:
        """Every name a field is read from, the documented one first."""
        return _names(cls.model_fields[field])

    @classmethod
    def fallback(cls, field: str) -> str:
        """`$COURTSIDE_OUT or ./data`: what a flag's help says it defaults to."""
        return f"${cls.variable(field)} or {cls.model_fields[field].get_default(call_default_factory=True)}"

    @property
    def api_keys(self) -> dict[str, SecretStr]:
        """The declared API keys that are set, by variable name."""
        keys = {name: getattr(self, name) for name in ("odds_api_key", "bdl_api_key", "bettingpros_api_key")}
        return {self.variable(name): key for name, key in keys.items() if key is not None}

    def secret(self, name: str) -> str | None:
        """The value of the secret variable `name`: a declared API key, or a dynamic one."""
        key = self.api_keys.get(name)
        if key is not None:
            return key.get_secret_value()
        if name in _VARIABLES:
            return None  # a declared, non-secret setting is never handed out as a secret
        return self._environment.get(name) or None

    def secret_values(self) -> list[str]:
        """Every declared secret that is set, for the redactor to mask before anything is logged."""
        declared = [*self.api_keys.values(), self.service_token]
        return [secret.get_secret_value() for secret in declared if secret is not None]

    def named_secrets(self) -> dict[str, str]:
        """The same secrets by variable name: the redactor masks them and a run whose landed body
        carried one names the variable (never the value) in its completion."""
        named = {name: key.get_secret_value() for name, key in self.api_keys.items()}
        if self.service_token is not None:
            named[self.variable("service_token")] = self.service_token.get_secret_value()
        return named

    @property
    def platform(self) -> str | None:
        """The container platform this process runs on, by the variables it sets in every container:
        `cloud_run` (K_SERVICE on a service, CLOUD_RUN_JOB on a job's task), `kubernetes`, or None."""
        if self.k_service or self.cloud_run_job:
            return "cloud_run"
        if self.kubernetes_service_host:
            return "kubernetes"
        return None

    @property
    def execution(self) -> dict[str, str]:
        """The Cloud Run execution a task belongs to, as recorded in its completion (lower-case names)."""
        names = ("cloud_run_job", "cloud_run_execution", "cloud_run_task_index", "cloud_run_task_attempt")
        return {name: value for name in names if (value := getattr(self, name))}

    # --- parsing of the structured variables

    @field_validator("upstreams", mode="before")
    @classmethod
    def _parse_upstreams(cls, value: object) -> object:
        if not isinstance(value, str):
            return value
        overrides: dict[str, str] = {}
        for item in filter(None, (part.strip() for part in value.split(","))):
            base, sep, target = item.partition("=")
            if not sep or "://" not in base or "://" not in target:
                raise ValueError(f"'{item}' is not BASE=REPLACEMENT (both URLs with a scheme)")
            overrides[base.strip()] = target.strip()
        return overrides

    @field_validator("service_scraper_concurrency", mode="before")
    @classmethod
    def _parse_concurrency(cls, value: object) -> object:
        if not isinstance(value, str):
            return value
        default: int | None = None
        overrides: dict[str, int] = {}
        for item in filter(None, (part.strip() for part in value.split(","))):
            name, sep, number = item.rpartition("=")
            limit = int(number) if number.strip().isdigit() else 0
            if limit <= 0 or (sep and not name.strip()):
                raise ValueError(f"'{item}' is not N or SCRAPER=N with N > 0")
            if sep:
                overrides[name.strip()] = limit
            else:
                default = limit
        return ScraperConcurrency(default=default or ScraperConcurrency().default, overrides=overrides)


class _GivenEnvironment(EnvSettingsSource):
    """pydantic-settings' environment source (names, empty values, no JSON decoding of NoDecode
    fields) over a given mapping: tests pass theirs, the CLI the process environment. What the base
    class read from os.environ is replaced before anything looks at it."""

    def __init__(self, settings_cls: type[BaseSettings], environ: Mapping[str, str]) -> None:
        super().__init__(settings_cls)
        self.env_vars = parse_env_vars(environ, self.case_sensitive, self.env_ignore_empty)


def _names(field: FieldInfo) -> tuple[str, ...]:
    alias = field.validation_alias
    if isinstance(alias, AliasChoices):
        return tuple(str(choice) for choice in alias.choices)
    return (str(alias),)


_FIELD_BY_VARIABLE = {name: field for field in Settings.model_fields.values() for name in _names(field)}
_VARIABLES = frozenset(_FIELD_BY_VARIABLE)


def _is_secret(field: FieldInfo) -> bool:
    return SecretStr in typing.get_args(field.annotation) or field.annotation is SecretStr


def _problem(error: Mapping[str, Any], environ: Mapping[str, str]) -> str:
    """`NAME='value': what is wrong (example: NAME=example)`; a secret's value is never shown."""
    variable = str(error["loc"][0]) if error["loc"] else "environment"
    field = _FIELD_BY_VARIABLE.get(variable)
    if field is not None:
        # pydantic names a field of several spellings by its first; the operator set this one.
        variable = next((name for name in _names(field) if environ.get(name)), variable)
    message = str(error["msg"]).removeprefix("Value error, ")
    message = message[:1].lower() + message[1:]
    if field is None:
        return f"{variable}: {message}"
    value = "" if _is_secret(field) else f"={error['input']!r}"
    example = (field.examples or [""])[0]
    return f"{variable}{value}: {message} (example: {variable}={example})"


# --- the README's table -------------------------------------------------------------------------


def settings_table_markdown() -> str:
    """The README's "Settings (environment)" table, generated from the model so it cannot drift."""
    lines = ["| variable | type | default | meaning |", "|---|---|---|---|"]
    for field in Settings.model_fields.values():
        variable = " or ".join(f"`{env}`" for env in _names(field))
        default = field.get_default(call_default_factory=True)
        shown = "unset" if default is None or default == {} else f"`{default}`"
        lines.append(f"| {variable} | {_kind(field)} | {shown} | {field.description} |")
    return "\n".join(lines)


def _kind(field: FieldInfo) -> str:
    """What the README says a variable takes, read from the field's type and bounds."""
    annotation = field.annotation
    if isinstance(annotation, types.UnionType) or typing.get_origin(annotation) is typing.Union:
        annotation = next(arg for arg in typing.get_args(annotation) if arg is not type(None))
    if annotation == FilePath:
        return "existing file"
    if typing.get_origin(annotation) is Annotated:
        annotation = typing.get_args(annotation)[0]
    if annotation is ScraperConcurrency:
        return "`N,SCRAPER=N,...`"
    if typing.get_origin(annotation) is dict:
        return "`BASE=URL,...`"
    if isinstance(annotation, type) and issubclass(annotation, enum.Enum):
        return ", ".join(f"`{member.value}`" for member in annotation)
    kinds: dict[object, str] = {
        str: "text",
        int: "integer",
        float: "number",
        SecretStr: "secret",
        Path: "folder",
    }
    kind = kinds[annotation]
    bounds = {
        name: getattr(bound, name)
        for bound in field.metadata
        for name in ("gt", "ge", "le")
        if hasattr(bound, name)
    }
    if bounds.get("gt") == 0:
        return f"positive {kind}"
    if "ge" in bounds and "le" in bounds:
        return f"{kind} {bounds['ge']}-{bounds['le']}"
    return kind


# --- where one command reads and writes ----------------------------------------------------------


@dataclass(frozen=True)
class Locations:
    out: str  # a local folder or gs://bucket/prefix
    fixtures: Path


def locations(registry: Registry, out: str | None, fixtures: str | None, settings: Settings) -> Locations:
    """A command's flags win over the settings; fixtures default to `tests/fixtures` of the project."""
    return Locations(
        out=out or settings.out,
        fixtures=Path(fixtures) if fixtures else (settings.fixtures or registry.root / "tests" / "fixtures"),
    )
