"""inspect_registry / load_registry on small registry files, one kind of problem per file.

Every problem row lists the exact findings expected: each finding is a tuple of fragments that one
problem message must all contain (always the scraper's name and the option or placeholder), and no
other problem may be reported, so a check that goes quiet or starts crying wolf fails here.
"""

from __future__ import annotations

import sys
from datetime import date
from pathlib import Path
from typing import Any

import pytest
import yaml

from scrapers.core.errors import RegistryError, UnknownScraperError
from scrapers.core.options import OptionType
from scrapers.core.registry import inspect_registry, load_registry
from tests.unit import registry_samples

SAMPLES = "tests.unit.registry_samples"
SOURCES = {"nbac": {"description": "NBA.com"}, "bdl": {"description": "BallDontLie"}}
GAMEDATE = {"type": "date", "required": True, "example": "2024-01-15"}
# The YAML side of registry_samples.GoodOptions.
GOOD_OPTIONS: dict[str, dict[str, Any]] = {
    "gamedate": dict(GAMEDATE),
    "sport": {"type": "str", "default": "NBA", "example": "NBA"},
    "season": {"type": "season", "example": "2023-24"},
    "teams": {"type": "list", "default": "LAL,BOS", "example": "LAL,BOS"},
    "limit": {"type": "int", "default": 10, "example": 5},
    "since": {"type": "datetime", "example": "2024-01-15T23:00:00Z"},
    "live": {"type": "bool", "default": False, "example": True},
    "market": {
        "type": "choice",
        "choices": ["points", "rebounds"],
        "default": "points",
        "example": "rebounds",
    },
}

# Written as text, not dumped, so YAML-native scalars (unquoted dates, ints, bools) are exercised.
VALID_REGISTRY = f"""
sources:
  nbac: {{description: NBA.com}}
  bdl:
scrapers:
  - name: sample_good
    class: {SAMPLES}:GoodScraper
    source: nbac
    description: every option type, an alias, a body-derived path field and a raw path
    aliases: [sample_good_old]
    options:
      gamedate: {{type: date, required: true, example: 2024-01-15, help: Eastern game date}}
      sport: {{type: str, default: NBA, example: NBA}}
      season: {{type: season, example: 2023-24}}
      teams: {{type: list, default: "LAL,BOS", example: [LAL, BOS]}}
      limit: {{type: int, default: 10, example: 5}}
      since: {{type: datetime, example: "2024-01-15T23:00:00Z"}}
      live: {{type: bool, default: false, example: true}}
      market: {{type: choice, choices: [points, rebounds], default: points, example: rebounds}}
    path: test/{{sport}}/{{date}}/{{game_code}}/{{timestamp}}.json
    raw_path: test/{{sport}}/{{date}}/{{game_code}}/{{timestamp}}.pdf
  - name: sample_one_date
    class: {SAMPLES}:OneDateScraper
    source: bdl
    description: the smallest valid entry
    options:
      gamedate: {{type: date, default: YESTERDAY, example: "20240115"}}
    path: test/one/{{date}}/{{timestamp}}.json
"""


def write(tmp_path: Path, entries: list[dict[str, Any]], sources: object = None) -> Path:
    path = tmp_path / "registry.yaml"
    document = {"sources": SOURCES if sources is None else sources, "scrapers": entries}
    path.write_text(yaml.safe_dump(document, sort_keys=False), encoding="utf-8")
    return path


def entry(name: str = "one_date", cls: str = "OneDateScraper", **overrides: Any) -> dict[str, Any]:
    """A valid OneDateScraper entry; keyword arguments replace (or, with None, drop) keys."""
    base: dict[str, Any] = {
        "name": name,
        "class": f"{SAMPLES}:{cls}",
        "source": "nbac",
        "description": "sample",
        "options": {"gamedate": dict(GAMEDATE)},
        "path": "test/{date}/{timestamp}.json",
    }
    base.update(overrides)
    return {key: value for key, value in base.items() if value is not None}


def good(name: str = "good", cls: str = "GoodScraper", **overrides: Any) -> dict[str, Any]:
    options = {key: dict(spec) for key, spec in GOOD_OPTIONS.items()}
    defaults = {"options": options, "path": "test/{sport}/{date}/{game_code}/{timestamp}.json"}
    return entry(name, cls, **(defaults | overrides))


def without(raw: dict[str, Any], *keys: str) -> dict[str, Any]:
    return {key: value for key, value in raw.items() if key not in keys}


def assert_findings(problems: list[str], expected: list[tuple[str, ...]]) -> None:
    """Each expected tuple matches its own problem, and nothing else was reported."""
    unmatched = list(problems)
    for fragments in expected:
        hit = next((p for p in unmatched if all(f in p for f in fragments)), None)
        assert hit is not None, f"no problem mentions all of {fragments}; problems: {problems}"
        unmatched.remove(hit)
    assert not unmatched, f"unexpected problems: {unmatched}"


# ---------------------------------------------------------------------------------------------
# A valid registry


def test_valid_registry_has_no_problems_and_loads(tmp_path: Path) -> None:
    path = tmp_path / "registry.yaml"
    path.write_text(VALID_REGISTRY, encoding="utf-8")

    registry, problems = inspect_registry(path)

    assert problems == []
    loaded = load_registry(path)
    assert loaded.names() == ["sample_good", "sample_one_date"]
    assert loaded.get("sample_good_old") is loaded.get("sample_good")
    assert loaded.root == tmp_path
    assert set(loaded.sources) == {"nbac", "bdl"}
    assert registry.scrapers.keys() == loaded.scrapers.keys()


def test_valid_registry_entry_is_read_faithfully(tmp_path: Path) -> None:
    path = tmp_path / "registry.yaml"
    path.write_text(VALID_REGISTRY, encoding="utf-8")

    good_entry = load_registry(path).get("sample_good")

    assert good_entry.load_class() is registry_samples.GoodScraper
    assert isinstance(good_entry.create(), registry_samples.GoodScraper)
    assert good_entry.aliases == ("sample_good_old",)
    assert good_entry.raw_path == "test/{sport}/{date}/{game_code}/{timestamp}.pdf"
    gamedate = good_entry.option("gamedate")
    assert gamedate is not None
    assert (gamedate.type, gamedate.required, gamedate.example) == (OptionType.DATE, True, "2024-01-15")
    assert gamedate.help == "Eastern game date"
    teams = good_entry.option("teams")
    assert teams is not None
    assert (teams.example, teams.default) == ("LAL,BOS", "LAL,BOS")  # a YAML list example is comma text
    market = good_entry.option("market")
    assert market is not None
    assert market.choices == ("points", "rebounds")
    assert good_entry.option("nope") is None


def test_unknown_scraper_lists_the_known_names(tmp_path: Path) -> None:
    path = tmp_path / "registry.yaml"
    path.write_text(VALID_REGISTRY, encoding="utf-8")

    with pytest.raises(UnknownScraperError) as caught:
        load_registry(path).get("sample_bad")

    assert caught.value.known == ["sample_good", "sample_one_date"]
    assert "sample_bad" in str(caught.value)


# ---------------------------------------------------------------------------------------------
# One kind of problem per file

PROBLEM_CASES: list[tuple[str, list[dict[str, Any]], list[tuple[str, ...]]]] = [
    # names and aliases
    (
        "duplicate name",
        [entry("one_date"), entry("one_date")],
        [("one_date: duplicate scraper name", "name 'one_date'")],
    ),
    (
        "alias collides with a later name",
        [entry("alpha", aliases=["beta"]), entry("beta")],
        [("beta: duplicate scraper name", "'beta'", "alias of alpha")],
    ),
    (
        "alias collides with an earlier name",
        [entry("beta"), entry("alpha", aliases=["beta"])],
        [("alpha: duplicate scraper name", "alias 'beta'")],
    ),
    (
        "alias collides with another alias",
        [entry("alpha", aliases=["old"]), entry("beta", aliases=["old"])],
        [("beta: duplicate scraper name", "alias 'old'", "alias of alpha")],
    ),
    # the class
    (
        "module does not exist",
        [entry(cls="X", **{"class": "tests.unit.no_such_module:X"})],
        [("one_date", "tests.unit.no_such_module:X", "does not import")],
    ),
    (
        "class missing from the module",
        [entry(cls="NoSuchScraper")],
        [("one_date", "NoSuchScraper", "does not import")],
    ),
    (
        "target without a class part",
        [entry(**{"class": SAMPLES})],
        [("one_date", SAMPLES, "does not import")],
    ),
    (
        "class is not a Scraper subclass",
        [entry(cls="NotAScraper")],
        [("one_date", "NotAScraper", "is not a Scraper subclass")],
    ),
    (
        "target is not a class at all",
        [entry(cls="NOT_A_CLASS")],
        [("one_date", "NOT_A_CLASS", "is not a Scraper subclass")],
    ),
    (
        "options_type missing",
        [entry(cls="NoOptionsTypeScraper", options=None)],
        [("one_date", "NoOptionsTypeScraper.options_type must be a dataclass")],
    ),
    (
        "options_type is not a dataclass",
        [entry(cls="NotADataclassScraper")],
        [("one_date", "NotADataclassScraper.options_type must be a dataclass")],
    ),
    # options: YAML against the class
    (
        "option in YAML but not in the class",
        [entry(options={"gamedate": GAMEDATE, "team": {"type": "str", "example": "LAL"}})],
        [("one_date", "option 'team'", "in registry.yaml but not in the class")],
    ),
    (
        "option in the class but not in YAML",
        [entry(cls="ExtraFieldScraper")],
        [("one_date", "option 'team'", "in the class but not in registry.yaml")],
    ),
    (
        "wrong type in the class",
        [entry(cls="WrongTypeScraper")],
        [("one_date", "option 'gamedate'", "date (required)", "must declare date, not str")],
    ),
    (
        "required in YAML, optional in the class",
        [entry(cls="OptionalDateScraper")],
        [("one_date", "option 'gamedate'", "date (required)", "must declare date, not date | None")],
    ),
    (
        "optional without default in YAML, required in the class",
        [entry(options={"gamedate": {"type": "date", "example": "2024-01-15"}})],
        [("one_date", "option 'gamedate'", "date (optional)", "must declare date | None, not date")],
    ),
    (
        "optional with a YAML default, but the class still allows None",
        [
            entry(
                cls="OptionalDateScraper",
                options={"gamedate": {"type": "date", "default": "TODAY", "example": "2024-01-15"}},
            )
        ],
        [("one_date", "option 'gamedate'", "must declare date, not date | None")],
    ),
    (
        "defaults declared in the dataclass",
        [
            entry(
                cls="ClassDefaultScraper",
                options={
                    "gamedate": GAMEDATE,
                    "sport": {"type": "str", "default": "NBA", "example": "NBA"},
                    "teams": {"type": "list", "default": "LAL", "example": "LAL"},
                },
            )
        ],
        [
            ("one_date", "option 'sport'", "has a default in the class"),
            ("one_date", "option 'teams'", "has a default in the class"),
        ],
    ),
    # path templates
    (
        "path placeholder no option fills",
        [entry(path="test/{date}/{team}/{timestamp}.json")],
        [("one_date", "placeholder '{team}'", "test/{date}/{team}/{timestamp}.json")],
    ),
    (
        "raw_path placeholder no option fills",
        [entry(raw_path="test/{date}/{game_id}/{timestamp}.pdf")],
        [("one_date", "placeholder '{game_id}'", ".pdf")],
    ),
    (
        "body-derived placeholder on a scraper that declares no path_fields",
        [good(cls="SportDateScraper")],
        [
            ("good", "placeholder '{game_code}'"),
            ("good", "date_option 'sport' is not a date option"),
        ],
    ),
    (
        "positional placeholder",
        [entry(path="test/{date}/{}.json")],
        [("one_date", "placeholder '{}'")],
    ),
    (
        "unbalanced brace",
        [entry(path="test/{date/{timestamp}.json")],
        [("one_date", "path 'test/{date/{timestamp}.json' is not a valid template")],
    ),
    # examples and defaults
    (
        "impossible date example",
        [entry(options={"gamedate": {**GAMEDATE, "example": "2024-02-30"}})],
        [("one_date", "option 'gamedate' example is invalid", "2024-02-30")],
    ),
    (
        "bad date keyword default",
        [
            entry(
                cls="OptionalDateScraper",
                options={"gamedate": {"type": "date", "default": "yesterdayish", "example": "2024-01-15"}},
            )
        ],
        [
            ("one_date", "option 'gamedate' default is invalid", "yesterdayish"),
            # the default is declared, so the class must not allow None either
            ("one_date", "option 'gamedate'", "must declare date, not date | None"),
        ],
    ),
    (
        "bad int example and bad season default",
        [
            good(
                options={
                    **GOOD_OPTIONS,
                    "limit": {"type": "int", "default": 10, "example": "ten"},
                    "season": {"type": "season", "default": "2023-25", "example": "2023-24"},
                }
            )
        ],
        [
            ("good", "option 'limit' example is invalid", "ten"),
            ("good", "option 'season' default is invalid", "2023-25"),
            ("good", "option 'season'", "must declare Season, not Season | None"),
        ],
    ),
    (
        "required option with a default",
        [entry(options={"gamedate": {**GAMEDATE, "default": "TODAY"}})],
        [("one_date", "option 'gamedate' is required but has a default")],
    ),
    (
        "option without an example",
        [entry(options={"gamedate": {"type": "date", "required": True}})],
        [
            ("one_date", "option 'gamedate'", "needs an 'example'"),
            ("one_date", "option 'gamedate' is in the class but not in registry.yaml"),
        ],
    ),
    (
        "unknown option type",
        [entry(options={"gamedate": {"type": "day", "required": True, "example": "2024-01-15"}})],
        [
            ("one_date", "option 'gamedate'", "'day'"),
            ("one_date", "option 'gamedate' is in the class but not in registry.yaml"),
        ],
    ),
    (
        "choice without choices",
        [good(options={**GOOD_OPTIONS, "market": {"type": "choice", "example": "points"}})],
        [
            ("good", "option 'market' is a choice without choices"),
            ("good", "option 'market' example is invalid"),
            ("good", "option 'market'", "must declare str | None, not str"),
        ],
    ),
    (
        "choice example outside its choices",
        [good(options={**GOOD_OPTIONS, "market": {**GOOD_OPTIONS["market"], "example": "steals"}})],
        [("good", "option 'market' example is invalid", "steals")],
    ),
    # sources
    (
        "unknown source",
        [entry(source="nba_stats")],
        [("one_date", "unknown source 'nba_stats'", "nbac")],
    ),
    # date_option
    (
        "date_option names a str option",
        [good(cls="SportDateScraper", path="test/{date}/{timestamp}.json")],
        [("good", "date_option 'sport' is not a date option")],
    ),
    (
        "date_option names no option",
        [good(cls="MissingDateOptionScraper", path="test/{date}/{timestamp}.json")],
        [("good", "date_option 'gameday' is not a date option")],
    ),
    # shape of the file
    (
        "entry without a name",
        [without(entry(), "name"), entry("one_date")],
        [("scrapers[0]", "needs a 'name'")],
    ),
    (
        "entry missing class and path",
        [without(entry(), "class", "path")],
        [("one_date: missing class, path",)],
    ),
    (
        "options is a list, not a mapping",
        [entry(options=["gamedate"])],
        [
            ("one_date", "'options' must be a mapping"),
            ("one_date", "option 'gamedate' is in the class but not in registry.yaml"),
        ],
    ),
    (
        "option spec is a bare type name",
        [entry(options={"gamedate": "date"})],
        [
            ("one_date", "option 'gamedate'", "must be a mapping"),
            ("one_date", "option 'gamedate' is in the class but not in registry.yaml"),
        ],
    ),
]


@pytest.mark.parametrize(
    ("entries", "expected"),
    [pytest.param(entries, expected, id=case_id) for case_id, entries, expected in PROBLEM_CASES],
)
def test_inspect_reports_each_problem(
    tmp_path: Path, entries: list[dict[str, Any]], expected: list[tuple[str, ...]]
) -> None:
    _, problems = inspect_registry(write(tmp_path, entries))

    assert_findings(problems, expected)


@pytest.mark.parametrize(
    ("entries", "expected"),
    [
        # the only shape of the samples that is right for an optional option without a default
        pytest.param(
            [
                entry(
                    cls="OptionalDateScraper", options={"gamedate": {"type": "date", "example": "2024-01-15"}}
                )
            ],
            [],
            id="optional date without default, class allows None",
        ),
        pytest.param([good()], [], id="every option type"),
        pytest.param(
            [entry(path="test/{date:%Y}/{timestamp}.json")], [], id="placeholder with a format spec"
        ),
        pytest.param(
            [entry(options={"gamedate": {"type": "date", "default": "TODAY-3", "example": "TOMORROW"}})],
            [],
            id="keyword default and example resolve",
        ),
    ],
)
def test_inspect_near_misses(
    tmp_path: Path, entries: list[dict[str, Any]], expected: list[tuple[str, ...]]
) -> None:
    """Shapes that look suspicious but are right are not reported."""
    _, problems = inspect_registry(write(tmp_path, entries))

    assert_findings(problems, expected)


def test_module_that_raises_at_import_is_a_problem_not_a_crash(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "courtside_broken_sample.py").write_text("raise RuntimeError('boom at import')\n")
    (tmp_path / "courtside_syntax_sample.py").write_text("def broken(:\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    path = write(
        tmp_path,
        [
            entry("raises", **{"class": "courtside_broken_sample:X"}),
            entry("syntax", **{"class": "courtside_syntax_sample:X"}),
        ],
    )

    _, problems = inspect_registry(path)

    assert_findings(
        problems,
        [
            ("raises", "courtside_broken_sample:X", "does not import", "RuntimeError", "boom at import"),
            ("syntax", "courtside_syntax_sample:X", "does not import", "SyntaxError"),
        ],
    )
    assert "courtside_broken_sample" not in sys.modules


def test_sources_must_be_a_mapping(tmp_path: Path) -> None:
    _, problems = inspect_registry(write(tmp_path, [entry()], sources=["nbac"]))

    assert_findings(
        problems,
        [("'sources' must be a mapping",), ("one_date", "unknown source 'nbac'")],
    )


def test_source_settings_must_be_a_mapping(tmp_path: Path) -> None:
    _, problems = inspect_registry(write(tmp_path, [entry()], sources={"nbac": "NBA.com"}))

    assert_findings(problems, [("source nbac", "must be a mapping"), ("one_date", "unknown source 'nbac'")])


def test_yaml_list_default_becomes_comma_text(tmp_path: Path) -> None:
    teams = {"type": "list", "default": ["LAL", "BOS"], "example": ["NYK"]}
    registry, problems = inspect_registry(
        write(tmp_path, [entry("lists", "ListScraper", options={"teams": teams})])
    )

    assert problems == []
    spec = registry.get("lists").option("teams")
    assert spec is not None
    assert (spec.default, spec.example) == ("LAL,BOS", "NYK")


def test_a_single_alias_written_as_a_string(tmp_path: Path) -> None:
    registry, problems = inspect_registry(write(tmp_path, [entry(aliases="one_date_v1")]))

    assert problems == []
    assert registry.get("one_date_v1").name == "one_date"
    assert registry.get("one_date").aliases == ("one_date_v1",)


def test_yaml_native_date_example_is_accepted(tmp_path: Path) -> None:
    # `example: 2024-01-15` unquoted is a date to YAML; the option must still see "2024-01-15".
    path = write(tmp_path, [entry(options={"gamedate": {**GAMEDATE, "example": date(2024, 1, 15)}})])

    registry, problems = inspect_registry(path)

    assert problems == []
    spec = registry.get("one_date").option("gamedate")
    assert spec is not None
    assert spec.example == "2024-01-15"


# ---------------------------------------------------------------------------------------------
# load_registry reports everything at once; unreadable files


def test_load_registry_lists_every_problem(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        [
            entry("first", source="nope"),
            entry("second", path="test/{date}/{team}/{timestamp}.json"),
            entry("third", cls="WrongTypeScraper"),
            entry("third"),
        ],
    )

    with pytest.raises(RegistryError) as caught:
        load_registry(path)

    assert_findings(
        caught.value.problems,
        [
            ("first", "unknown source 'nope'"),
            ("second", "placeholder '{team}'"),
            ("third", "option 'gamedate'", "not str"),
            ("third: duplicate scraper name",),
        ],
    )
    for problem in caught.value.problems:
        assert problem in str(caught.value)


def test_inspect_agrees_with_load(tmp_path: Path) -> None:
    path = write(tmp_path, [entry("first", source="nope"), entry("second", cls="NotAScraper")])

    _, problems = inspect_registry(path)
    with pytest.raises(RegistryError) as caught:
        load_registry(path)

    assert caught.value.problems == problems
    assert len(problems) == 2


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        pytest.param("- just\n- a list\n", "expected a mapping", id="not a mapping"),
        pytest.param("sources: {a: [\n", "cannot read", id="not YAML"),
        pytest.param("", "expected a mapping", id="empty file"),
    ],
)
def test_unreadable_registry_raises(tmp_path: Path, text: str, fragment: str) -> None:
    path = tmp_path / "registry.yaml"
    path.write_text(text, encoding="utf-8")

    with pytest.raises(RegistryError) as caught:
        inspect_registry(path)

    assert len(caught.value.problems) == 1
    assert fragment in caught.value.problems[0]
    assert str(path) in caught.value.problems[0]


def test_missing_registry_file_raises(tmp_path: Path) -> None:
    with pytest.raises(RegistryError, match="cannot read"):
        load_registry(tmp_path / "absent.yaml")


def test_registry_env_overrides_the_default_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "elsewhere.yaml"
    path.write_text(VALID_REGISTRY, encoding="utf-8")
    monkeypatch.setenv("COURTSIDE_REGISTRY", str(path))

    assert load_registry().path == path
