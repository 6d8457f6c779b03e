"""Errors as types. Every failure a user can see is one of these, never a bare traceback.

Each type carries what the apps answer for it: `exit_code` for the CLI, `http_status` for the
service, so there is no parallel table to keep in step. Bad input is exit 2 everywhere; the HTTP
status says whose it is (400: the caller's request; 500: the deployment's configuration).
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable

from scrapers.core.outcome import Outcome

EXIT_USAGE = 2


def did_you_mean(name: str, known: Iterable[str]) -> str:
    """` (did you mean 'gamedate'?)` for a near miss, ignoring case and `_`/`-`; else ""."""

    def folded(text: str) -> str:
        return text.lower().replace("_", "").replace("-", "")

    by_fold = {folded(candidate): candidate for candidate in known}
    close = difflib.get_close_matches(folded(name), list(by_fold), n=1, cutoff=0.75)
    return f" (did you mean '{by_fold[close[0]]}'?)" if close else ""


class CourtsideError(Exception):
    """Base of every error this package raises on purpose; unclassified ones are internal (1/500)."""

    EXIT_CODE = 1
    HTTP_STATUS = 500

    @property
    def exit_code(self) -> int:
        return self.EXIT_CODE

    @property
    def http_status(self) -> int:
        return self.HTTP_STATUS


class BadInput(CourtsideError):
    """The caller's input is wrong: exit 2, HTTP 400. The message names what and gives an example."""

    EXIT_CODE = EXIT_USAGE
    HTTP_STATUS = 400


class UsageError(BadInput):
    """A bad command line or request outside the options: exits 2, answers 400."""


class BadConfiguration(CourtsideError):
    """The deployment lacks or misspells a setting: exit 2 (the operator's input), HTTP 500."""

    EXIT_CODE = EXIT_USAGE
    HTTP_STATUS = 500


class SettingsError(BadConfiguration):
    """Environment settings are unusable. `problems` lists every one, each naming its variable,
    what is wrong and an example; a secret's value is never part of it."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        many = len(problems) > 1
        super().__init__("bad environment settings:\n  " + "\n  ".join(problems) if many else problems[0])


class OptionError(BadInput):
    """A bad or missing option. The CLI exits 2; the service answers 400."""

    def __init__(self, option: str, problem: str, example: str) -> None:
        self.option = option
        self.problem = problem
        self.example = example
        super().__init__(f"option '{option}': {problem} (example: {example})")


class InvalidOptions(BadInput):
    """Every option problem of one request, reported together so the user fixes them in one go."""

    def __init__(self, problems: list[OptionError]) -> None:
        self.problems = problems
        super().__init__("\n".join(str(problem) for problem in problems))


class MissingCredentialsError(BadConfiguration):
    """A credential the job needs is not configured: bad input (exit 2), found before anything is
    sent, so no request, no landing and no completion downstream happens for it."""

    def __init__(self, problem: str, example: str) -> None:
        self.problem = problem
        self.example = example
        super().__init__(f"{problem} (example: {example})")


class UnknownScraperError(BadInput):
    def __init__(self, name: str, known: list[str]) -> None:
        self.name = name
        self.known = known
        super().__init__(
            f"unknown scraper '{name}'{did_you_mean(name, known)}; known scrapers: {', '.join(known)}"
        )


class RegistryError(BadConfiguration):
    """registry.yaml is inconsistent; `problems` lists every finding, not just the first."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__("registry.yaml has problems:\n  " + "\n  ".join(problems))


class ScrapeError(CourtsideError):
    """A classified failure of a run. `outcome` is the class the run reports."""

    def __init__(self, outcome: Outcome, message: str) -> None:
        self.outcome = outcome
        super().__init__(message)

    @property
    def exit_code(self) -> int:
        return self.outcome.exit_code

    @property
    def http_status(self) -> int:
        return self.outcome.http_status


class ParseError(ScrapeError):
    """The body decoded but does not have the shape the parser needs: the source changed."""

    def __init__(self, message: str) -> None:
        super().__init__(Outcome.STRUCTURAL, message)


class ReplayMissError(BadInput):
    """Replay mode was asked for a request that has no recording."""


class AlreadyLandedError(CourtsideError):
    """A create-only sink found the object already there."""

    def __init__(self, location: str) -> None:
        self.location = location
        super().__init__(f"already landed: {location}")
