"""What one `sources:` entry of registry.yaml may say: the only declaration of its keys.

The HTTP core's SourcePolicy (scrapers/http/policy.py) is built from a SourceSpec and reads nothing
else, so a key this model does not know is a key nothing would read: a misspelling (`retry_budgt`)
is a registry problem naming the source, the key and the known keys, never silently ignored.
A field left out is None ("not given"): the policy's defaults apply, and a host's `rules:` override
only the rules they give.
"""

from __future__ import annotations

import types
import typing
from collections.abc import Mapping
from typing import Any, Self

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    NonNegativeInt,
    PositiveFloat,
    PositiveInt,
    ValidationError,
    model_validator,
)

from scrapers.core.errors import did_you_mean
from scrapers.core.outcome import Outcome


class _Spec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class RateSpec(_Spec):
    """`rate: {per_second: 1, burst: 2, ceiling_per_second: 4}` (or the `per_minute` forms)."""

    per_second: PositiveFloat | None = None
    per_minute: PositiveFloat | None = None
    burst: PositiveInt | None = None
    ceiling_per_second: PositiveFloat | None = None
    ceiling_per_minute: PositiveFloat | None = None
    floor_per_second: PositiveFloat | None = None
    increase_step: PositiveFloat | None = None

    @model_validator(mode="after")
    def _one_unit(self) -> Self:
        for name in ("", "ceiling_"):
            if (
                getattr(self, f"{name}per_second") is not None
                and getattr(self, f"{name}per_minute") is not None
            ):
                raise ValueError(f"give {name}per_second or {name}per_minute, not both")
        return self


class RulesSpec(_Spec):
    """How the upstream signals trouble (scrapers.http.classify.SourceRules)."""

    hang_means_blocked: bool | None = None
    status_overrides: dict[int, Outcome] | None = None
    quota_remaining_header: str | None = None

    def merged(self, override: RulesSpec | None) -> RulesSpec:
        """These rules with the ones `override` gives on top (a host's rules over its source's)."""
        if override is None:
            return self
        return self.model_copy(update=override.model_dump(exclude_none=True))


class QuotaHeadersSpec(_Spec):
    remaining: str | None = None  # default: the rules' quota_remaining_header
    used: str | None = None
    last: str | None = None


class QuotaSpec(_Spec):
    """Credits at a metered upstream: a job that would leave fewer than `reserve` is refused."""

    reserve: NonNegativeInt = 0
    remember_seconds: PositiveFloat | None = None
    headers: QuotaHeadersSpec = Field(default_factory=QuotaHeadersSpec)


class HostSpec(_Spec):
    """Per-host overrides under `hosts:`."""

    rules: RulesSpec | None = None
    rate: RateSpec | None = None


class SourceSpec(_Spec):
    description: str = ""
    tiers: tuple[str, ...] | None = Field(default=None, min_length=1)
    start_tier: str | None = None
    timeouts: dict[str, PositiveFloat] = Field(default_factory=dict)  # seconds per tier
    timeout_seconds: PositiveFloat | None = None  # tiers without their own timeout
    transient_retries: NonNegativeInt | None = None
    retry_budget: NonNegativeInt | None = None  # retries one job may spend, all its requests together
    deadline_seconds: PositiveFloat | None = None
    backoff_initial: PositiveFloat | None = None
    backoff_max: PositiveFloat | None = None
    rate: RateSpec | None = None
    hosts: dict[str, HostSpec] = Field(default_factory=dict)
    rules: RulesSpec = Field(default_factory=RulesSpec)
    quota: QuotaSpec | None = None
    # The largest body one response may have, counted after decompression (a gzip bomb stops here).
    max_body_bytes: PositiveInt | None = None

    @model_validator(mode="after")
    def _quota_has_a_header(self) -> Self:
        # Without a remaining-credits header nothing could be tracked: the block would do nothing.
        if self.quota is not None and not (self.quota.headers.remaining or self.rules.quota_remaining_header):
            raise ValueError("quota needs quota.headers.remaining or rules.quota_remaining_header")
        return self


def read_source(name: str, raw: Mapping[str, Any]) -> tuple[SourceSpec, list[str]]:
    """The validated spec of source `name` and every problem found (then the spec is the default)."""
    try:
        return SourceSpec.model_validate(dict(raw)), []
    except ValidationError as exc:
        return SourceSpec(description=str(raw.get("description", ""))), [
            _problem(name, error) for error in exc.errors()
        ]


def _problem(source: str, error: Mapping[str, Any]) -> str:
    loc = tuple(error["loc"])
    where = ".".join(str(part) for part in loc)
    if error["type"] == "extra_forbidden":
        known = sorted(_model_at(loc[:-1]).model_fields)
        key = str(loc[-1])
        return f"source {source}: unknown key '{where}'{did_you_mean(key, known)}; known: {', '.join(known)}"
    message = str(error["msg"]).removeprefix("Value error, ")
    message = message[:1].lower() + message[1:]
    if not where:  # about the source as a whole
        return f"source {source}: {message}"
    return f"source {source}: '{where}': {message} (got {error['input']!r})"


def _model_at(loc: tuple[Any, ...]) -> type[BaseModel]:
    """The model whose keys are valid at `loc` (dict levels, e.g. a host name, are skipped)."""
    model: type[BaseModel] = SourceSpec
    values_of: type[BaseModel] | None = None  # set when the next part is a mapping's key
    for part in loc:
        if values_of is not None:
            model, values_of = values_of, None
            continue
        annotation = _unwrap(model.model_fields[str(part)].annotation)
        if typing.get_origin(annotation) is dict:
            values_of = _unwrap(typing.get_args(annotation)[1])
        else:
            model = annotation
    return model


def _unwrap(annotation: Any) -> Any:
    if isinstance(annotation, types.UnionType) or typing.get_origin(annotation) is typing.Union:
        return next(arg for arg in typing.get_args(annotation) if arg is not type(None))
    return annotation
