"""What `scrapers check` verifies of the scraper classes beyond registry.yaml: their declarations.

Each class declares its validator and, for a parent, its fan-out children (see Scraper). A scraper
without a validator would run with a warning verdict; a fan-out child that is not registered, or
lacks an option its parent's refs fill, would fail only when a request asks for the fan-out.
"""

from __future__ import annotations

from scrapers.core.fanout import FanOut
from scrapers.core.registry import Registry, ScraperEntry


def declaration_problems(registry: Registry) -> list[str]:
    """Every problem of what the registered classes declare; call on a registry without problems
    (each class imports and its options resolve)."""
    problems: list[str] = []
    for name in registry.names():
        entry = registry.scrapers[name]
        cls = entry.load_class()
        if cls.validator is None:
            problems.append(
                f"{name}: {entry.target} declares no validator; add `validator = validators.<function>`, "
                f"a function of (document, options) in {_validators_module(entry)}"
            )
        for fan_out in cls.fan_out:
            problems.extend(_fan_out_problems(registry, name, fan_out))
        children = [fan_out.child for fan_out in cls.fan_out]
        if len(set(children)) != len(children):
            problems.append(f"{name}: declares one child twice in its fan-out ({', '.join(children)})")
    return problems


def _fan_out_problems(registry: Registry, parent: str, fan_out: FanOut) -> list[str]:
    child = registry.scrapers.get(fan_out.child)
    if child is None:
        return [
            f"{parent}: fan-out child '{fan_out.child}' is not a registered scraper "
            f"(name one of registry.yaml's scrapers, e.g. {registry.names()[0]})"
        ]
    known = {spec.name for spec in child.options}
    return [
        f"{parent}: fan-out child {child.name} has no option '{name}' to fill "
        f"(its options: {', '.join(sorted(known)) or 'none'})"
        for name in fan_out.filled
        if name not in known
    ]


def _validators_module(entry: ScraperEntry) -> str:
    """`scrapers.sources.bdl.games:BdlGames` -> `scrapers/sources/bdl/validators.py`."""
    package = entry.target.partition(":")[0].rpartition(".")[0]
    return f"{package.replace('.', '/')}/validators.py"
