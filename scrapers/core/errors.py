"""Errors as types. Every failure a user can see is one of these, never a bare traceback."""

from __future__ import annotations

from scrapers.core.outcome import Outcome


class CourtsideError(Exception):
    """Base of every error this package raises on purpose."""


class OptionError(CourtsideError):
    """A bad or missing option. The CLI exits 2; the service answers 400."""

    def __init__(self, option: str, problem: str, example: str) -> None:
        self.option = option
        self.problem = problem
        self.example = example
        super().__init__(f"option '{option}': {problem} (example: {example})")


class InvalidOptions(CourtsideError):
    """Every option problem of one request, reported together so the user fixes them in one go."""

    def __init__(self, problems: list[OptionError]) -> None:
        self.problems = problems
        super().__init__("\n".join(str(problem) for problem in problems))


class MissingCredentialsError(CourtsideError):
    """A credential the job needs is not configured: bad input (exit 2), found before anything is
    sent, so no request, no landing and no completion downstream happens for it."""

    def __init__(self, problem: str, example: str) -> None:
        self.problem = problem
        self.example = example
        super().__init__(f"{problem} (example: {example})")


class UnknownScraperError(CourtsideError):
    def __init__(self, name: str, known: list[str]) -> None:
        self.name = name
        self.known = known
        super().__init__(f"unknown scraper '{name}'; known scrapers: {', '.join(known)}")


class RegistryError(CourtsideError):
    """registry.yaml is inconsistent; `problems` lists every finding, not just the first."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__("registry.yaml has problems:\n  " + "\n  ".join(problems))


class ScrapeError(CourtsideError):
    """A classified failure of a run. `outcome` is the class the run reports."""

    def __init__(self, outcome: Outcome, message: str) -> None:
        self.outcome = outcome
        super().__init__(message)


class ParseError(ScrapeError):
    """The body decoded but does not have the shape the parser needs: the source changed."""

    def __init__(self, message: str) -> None:
        super().__init__(Outcome.STRUCTURAL, message)


class ReplayMissError(CourtsideError):
    """Replay mode was asked for a request that has no recording."""


class AlreadyLandedError(CourtsideError):
    """A create-only sink found the object already there."""

    def __init__(self, location: str) -> None:
        self.location = location
        super().__init__(f"already landed: {location}")
