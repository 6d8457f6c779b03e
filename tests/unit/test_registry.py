"""inspect_registry / load_registry on small registry files, one kind of problem per file.

A scraper's options are declared once, in its options model (tests/unit/registry_samples.py holds
right and deliberately wrong ones); registry.yaml names the class, the source and the paths.

Every problem row lists the exact findings expected: each finding is a tuple of fragments that one
problem message must all contain (always the scraper's name and the option or placeholder), and no
other problem may be reported, so a check that goes quiet or starts crying wolf fails here.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from scrapers.core.errors import RegistryError, UnknownScraperError
from scrapers.core.options import OptionType
from scrapers.core.registry import default_registry_path, inspect_registry, load_registry
from scrapers.core.settings import Settings
from tests.unit import registry_samples

SAMPLES = "tests.unit.registry_samples"
SOURCES = {"nbac": {"description": "NBA.com"}, "bdl": {"description": "BallDontLie"}}
GOOD_PATH = "test/{sport}/{date}/{game_code}/{timestamp}.json"

# Written as text, not dumped, so YAML-native scalars (a bool in `quality:`, a bare source) are exercised.
VALID_REGISTRY = f"""
sources:
  nbac: {{description: NBA.com}}
  bdl:
scrapers:
  - name: sample_good
    class: {SAMPLES}:GoodScraper
    source: nbac
    description: every option type, old spellings, a body-derived path field and a raw path
    aliases: [sample_good_old]
    path: {GOOD_PATH}
    raw_path: test/{{sport}}/{{date}}/{{game_code}}/{{timestamp}}.pdf
    quality: {{fail_marks_partial: true}}
    differs: the sample lands nothing the old platform did
  - name: sample_one_date
    class: {SAMPLES}:OneDateScraper
    source: bdl
    description: the smallest valid entry
    path: test/one/{{date}}/{{timestamp}}.json
  - name: sample_no_options
    class: {SAMPLES}:NoOptionsScraper
    source: bdl
    description: a scraper that takes no options
    path: test/none/{{date}}/{{timestamp}}.json
"""


def write(tmp_path: Path, entries: list[dict[str, Any]], sources: object = None) -> Path:
    path = tmp_path / "registry.yaml"
    document = {"sources": SOURCES if sources is None else sources, "scrapers": entries}
    path.write_text(yaml.safe_dump(document, sort_keys=False), encoding="utf-8")
    return path


def entry(name: str = "one_date", cls: str = "OneDateScraper", **overrides: Any) -> dict[str, Any]:
    """A valid entry for a sample class; keyword arguments replace (or, with None, drop) keys."""
    base: dict[str, Any] = {
        "name": name,
        "class": f"{SAMPLES}:{cls}",
        "source": "nbac",
        "description": "sample",
        "path": "test/{date}/{timestamp}.json",
    }
    base.update(overrides)
    return {key: value for key, value in base.items() if value is not None}


def good(name: str = "good", cls: str = "GoodScraper", **overrides: Any) -> dict[str, Any]:
    return entry(name, cls, **({"path": GOOD_PATH} | overrides))


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
    assert loaded.names() == ["sample_good", "sample_no_options", "sample_one_date"]
    assert loaded.get("sample_good_old") is loaded.get("sample_good")
    assert loaded.root == tmp_path
    assert set(loaded.sources) == {"nbac", "bdl"}
    assert registry.scrapers.keys() == loaded.scrapers.keys()


def test_valid_registry_entry_is_read_faithfully(tmp_path: Path) -> None:
    path = tmp_path / "registry.yaml"
    path.write_text(VALID_REGISTRY, encoding="utf-8")
    registry = load_registry(path)

    good_entry = registry.get("sample_good")

    assert good_entry.load_class() is registry_samples.GoodScraper
    assert isinstance(good_entry.create(), registry_samples.GoodScraper)
    assert good_entry.aliases == ("sample_good_old",)
    assert good_entry.raw_path == "test/{sport}/{date}/{game_code}/{timestamp}.pdf"
    assert good_entry.quality.fail_marks_partial is True
    assert good_entry.differs == "the sample lands nothing the old platform did"
    one_date = registry.get("sample_one_date")
    assert (one_date.quality.fail_marks_partial, one_date.differs, one_date.raw_path) == (False, None, None)


def test_an_entry_s_options_are_its_model_s(tmp_path: Path) -> None:
    path = tmp_path / "registry.yaml"
    path.write_text(VALID_REGISTRY, encoding="utf-8")
    registry = load_registry(path)

    good_entry = registry.get("sample_good")

    assert [spec.name for spec in good_entry.options] == list(registry_samples.GoodOptions.model_fields)
    game_date = good_entry.option("game_date")
    assert game_date is not None
    assert (game_date.type, game_date.required, game_date.example) == (OptionType.DATE, True, "2024-01-15")
    assert (game_date.help, game_date.aliases) == ("Eastern game date", ("gamedate",))
    odds_format = good_entry.option("odds_format")
    assert odds_format is not None
    assert (odds_format.default, odds_format.choices) == ("american", ("american", "decimal"))
    # An old spelling is accepted when resolving, but it names no option of its own.
    assert good_entry.option("gamedate") is None
    assert good_entry.option("nope") is None
    assert registry.get("sample_no_options").options == ()


def test_unknown_scraper_lists_the_known_names(tmp_path: Path) -> None:
    path = tmp_path / "registry.yaml"
    path.write_text(VALID_REGISTRY, encoding="utf-8")

    with pytest.raises(UnknownScraperError) as caught:
        load_registry(path).get("sample_bad")

    assert caught.value.known == ["sample_good", "sample_no_options", "sample_one_date"]
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
        [entry(**{"class": "tests.unit.no_such_module:X"})],
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
    # the options model: what it is
    (
        "options_type missing",
        [entry(cls="NoOptionsTypeScraper")],
        [("one_date", "NoOptionsTypeScraper.options_type must be a ScraperOptions model")],
    ),
    (
        "options_type is the old dataclass",
        [entry(cls="DataclassOptionsScraper")],
        [("one_date", "DataclassOptionsScraper.options_type must be a ScraperOptions model")],
    ),
    (
        "options_type is a pydantic model but not a ScraperOptions",
        [entry(cls="PlainModelScraper")],
        [("one_date", "PlainModelScraper.options_type must be a ScraperOptions model")],
    ),
    (
        "a field not declared with option(...)",
        [entry(cls="UndeclaredFieldScraper")],
        [("one_date", "do not resolve", "UndeclaredFieldOptions.team is not declared with option(...)")],
    ),
    (
        "an annotation that names nothing at run time",
        [entry(cls="UnresolvedAnnotationScraper")],
        [("one_date", "the options of", "UnresolvedAnnotationScraper do not resolve", "'Decimal'")],
    ),
    # the options model: annotations
    (
        "required option annotated as possibly None",
        [entry(cls="RequiredButOptionalScraper")],
        [("one_date", "option 'game_date' is date (required)", "must declare date, not date | None")],
    ),
    (
        "optional option without a default annotated as never None",
        [entry(cls="OptionalButNeverNoneScraper")],
        [("one_date", "option 'game_date' is date (optional)", "must declare date | None, not date")],
    ),
    (
        "optional option with a default annotated as possibly None",
        [entry(cls="DefaultedButOptionalScraper")],
        [("one_date", "option 'game_date' is date (optional)", "must declare date, not date | None")],
    ),
    (
        "every option type annotated as another type",
        [entry(cls="WrongTypesScraper")],
        [
            ("one_date", "option 'game_date' is date (required)", "must declare date, not str"),
            (
                "one_date",
                "option 'commence_time_from' is datetime (optional)",
                "must declare datetime | None, not date | None",
            ),
            ("one_date", "option 'season' is season", "must declare Season | None, not str | None"),
            ("one_date", "option 'sport' is str", "must declare str, not int"),
            ("one_date", "option 'limit' is int", "must declare int, not str"),
            ("one_date", "option 'skip_json' is bool", "must declare bool, not int"),
            ("one_date", "option 'team_ids' is list", "must declare tuple[str, ...], not list[str]"),
            ("one_date", "option 'odds_format' is choice", "must declare str | None, not int | None"),
        ],
    ),
    # the options model: declarations
    (
        "required option with a default",
        [entry(cls="RequiredWithDefaultScraper")],
        [("one_date", "option 'game_date' is required but has a default")],
    ),
    (
        "choice without choices",
        [entry(cls="ChoiceWithoutChoicesScraper")],
        [
            # one finding: its example cannot be one of no choices, which says nothing more
            ("one_date", "option 'odds_format' is a choice without choices"),
        ],
    ),
    (
        "invalid example of every option type",
        [entry(cls="BadExamplesScraper")],
        [
            ("one_date", "option 'game_date' example is invalid", "'2024-02-30' is not a date"),
            ("one_date", "option 'commence_time_from' example is invalid", "has no time zone"),
            ("one_date", "option 'season' example is invalid", "'2023-25' is not a season"),
            ("one_date", "option 'sport' example is invalid", "is empty"),
            ("one_date", "option 'limit' example is invalid", "'ten' is not an integer"),
            ("one_date", "option 'skip_json' example is invalid", "'maybe' is not a boolean"),
            ("one_date", "option 'team_ids' example is invalid", "is an empty list"),
            ("one_date", "option 'odds_format' example is invalid", "'fractional' is not one of"),
        ],
    ),
    (
        "invalid default of every option type",
        [entry(cls="BadDefaultsScraper")],
        [
            ("one_date", "option 'game_date' default is invalid", "'yesterdayish' is not a date"),
            ("one_date", "option 'commence_time_from' default is invalid", "'later'"),
            ("one_date", "option 'season' default is invalid", "'2023-25' is not a season"),
            ("one_date", "option 'sport' default is invalid", "is empty"),
            ("one_date", "option 'limit' default is invalid", "'ten' is not an integer"),
            ("one_date", "option 'skip_json' default is invalid", "'maybe' is not a boolean"),
            ("one_date", "option 'team_ids' default is invalid", "is an empty list"),
            ("one_date", "option 'odds_format' default is invalid", "'fractional' is not one of"),
        ],
    ),
    # the options model: one name, one option
    (
        "an old spelling that is another option's name",
        [entry(cls="AliasIsANameScraper")],
        [("one_date", "option name 'team' is declared twice")],
    ),
    (
        "two options share an old spelling",
        [entry(cls="SharedAliasScraper")],
        [("one_date", "option name 'team' is declared twice")],
    ),
    (
        "an option lists its own name as its old spelling",
        [entry(cls="SelfAliasScraper")],
        [("one_date", "option name 'game_date' is declared twice")],
    ),
    # options declared in registry.yaml: no longer read, and said so
    (
        "an options block left in registry.yaml",
        [entry(options={"gamedate": {"type": "date", "required": True, "example": "2024-01-15"}})],
        [
            (
                "one_date: 'options:' is no longer read here",
                f"options model of {SAMPLES}:OneDateScraper",
                "option(...)",
                "scrapers/core/options.py",
            )
        ],
    ),
    # path templates
    (
        "path placeholder no option fills",
        [entry(path="test/{date}/{team}/{timestamp}.json")],
        [("one_date", "placeholder '{team}'", "test/{date}/{team}/{timestamp}.json")],
    ),
    (
        "path placeholder named by an option's old spelling",
        [entry(path="test/{gamedate}/{timestamp}.json")],
        [("one_date", "placeholder '{gamedate}'")],
    ),
    (
        "raw_path placeholder no option fills",
        [entry(raw_path="test/{date}/{game_id}/{timestamp}.pdf")],
        [("one_date", "placeholder '{game_id}'", ".pdf")],
    ),
    (
        "body-derived placeholder on a scraper that declares no path_fields",
        [entry(path="test/{date}/{game_code}/{timestamp}.json")],
        [("one_date", "placeholder '{game_code}'", "filled by no option and not provided by the scraper")],
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
    # sources
    (
        "unknown source",
        [entry(source="nba_stats")],
        [("one_date", "unknown source 'nba_stats'", "nbac")],
    ),
    # date_option
    (
        "date_option names a str option",
        [good(cls="SportDateScraper")],
        [("good", "date_option 'sport' is not a date option")],
    ),
    (
        "date_option names no option",
        [good(cls="MissingDateOptionScraper", path="test/{date}/{timestamp}.json")],
        [("good", "date_option 'gameday' is not a date option")],
    ),
    (
        "date_option names an old spelling",
        [good(cls="OldSpellingDateOptionScraper", path="test/{date}/{timestamp}.json")],
        [("good", "date_option 'gamedate' is not a date option")],
    ),
    # unknown entry keys
    (
        "misspelled quality key",
        [entry(qualty={"fail_marks_partial": True})],
        [("one_date: unknown key(s) qualty", "known:", "quality", "raw_path")],
    ),
    (
        "raw_path written with a dash",
        [entry(**{"raw-path": "test/{date}/{timestamp}.pdf"})],
        [("one_date: unknown key(s) raw-path", "raw_path")],
    ),
    # the quality block
    (
        "quality is not a mapping",
        [entry(quality="strict")],
        [("one_date: 'quality' must be a mapping like {fail_marks_partial: true}",)],
    ),
    (
        "unknown quality key",
        [entry(quality={"fail_on_warn": True})],
        [("one_date: unknown 'quality' key(s) fail_on_warn (known: fail_marks_partial)",)],
    ),
    (
        "quality flag is not a bool",
        [entry(quality={"fail_marks_partial": "yes"})],
        [("one_date: quality.fail_marks_partial must be true or false, not 'yes'",)],
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
    "entries",
    [
        pytest.param(
            [good()], id="every option type, each annotation, keyword example and default, old spellings"
        ),
        pytest.param([entry(cls="NoOptionsScraper")], id="a scraper without options"),
        pytest.param(
            [entry(path="test/{game_date}/{timestamp}.json")], id="placeholder named by a canonical option"
        ),
        pytest.param([entry(path="test/{date:%Y}/{timestamp}.json")], id="placeholder with a format spec"),
        pytest.param([entry(quality={"fail_marks_partial": False})], id="quality policy written out"),
    ],
)
def test_inspect_near_misses(tmp_path: Path, entries: list[dict[str, Any]]) -> None:
    """Shapes that look suspicious but are right are not reported."""
    _, problems = inspect_registry(write(tmp_path, entries))

    assert problems == []


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


def test_an_unknown_option_type_in_a_model_is_an_import_problem(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # option(...) checks its kind when the class body runs, so the module itself does not import.
    (tmp_path / "courtside_day_sample.py").write_text(
        "from datetime import date\n"
        "from scrapers.core.options import ScraperOptions, option\n"
        "class DayOptions(ScraperOptions):\n"
        "    game_date: date = option('day', example='2024-01-15', required=True)\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))

    _, problems = inspect_registry(write(tmp_path, [entry(**{"class": "courtside_day_sample:DayScraper"})]))

    assert_findings(
        problems, [("one_date", "courtside_day_sample:DayScraper", "does not import", "ValueError", "'day'")]
    )


def test_sources_must_be_a_mapping(tmp_path: Path) -> None:
    _, problems = inspect_registry(write(tmp_path, [entry()], sources=["nbac"]))

    assert_findings(
        problems,
        [("'sources' must be a mapping",), ("one_date", "unknown source 'nbac'")],
    )


def test_source_settings_must_be_a_mapping(tmp_path: Path) -> None:
    _, problems = inspect_registry(write(tmp_path, [entry()], sources={"nbac": "NBA.com"}))

    assert_findings(problems, [("source nbac", "must be a mapping"), ("one_date", "unknown source 'nbac'")])


def test_a_single_alias_written_as_a_string(tmp_path: Path) -> None:
    registry, problems = inspect_registry(write(tmp_path, [entry(aliases="one_date_v1")]))

    assert problems == []
    assert registry.get("one_date_v1").name == "one_date"
    assert registry.get("one_date").aliases == ("one_date_v1",)


# ---------------------------------------------------------------------------------------------
# load_registry reports everything at once; unreadable files


def test_load_registry_lists_every_problem(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        [
            entry("first", source="nope"),
            entry("second", path="test/{date}/{team}/{timestamp}.json"),
            entry("third", cls="RequiredButOptionalScraper"),
            entry("third"),
            entry("fourth", options={"game_date": {"type": "date"}}),
        ],
    )

    with pytest.raises(RegistryError) as caught:
        load_registry(path)

    assert_findings(
        caught.value.problems,
        [
            ("first", "unknown source 'nope'"),
            ("second", "placeholder '{team}'"),
            ("third", "option 'game_date'", "not date | None"),
            ("third: duplicate scraper name",),
            ("fourth", "'options:' is no longer read here"),
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


def test_without_a_path_the_project_registry_loads() -> None:
    project = Path(__file__).resolve().parents[2] / "registry.yaml"

    assert default_registry_path() == project
    assert load_registry().path == project


def test_courtside_registry_names_the_file_to_load(tmp_path: Path) -> None:
    # The environment is read once, by Settings; the registry loads the file it names.
    path = tmp_path / "elsewhere.yaml"
    path.write_text(VALID_REGISTRY, encoding="utf-8")
    settings = Settings.from_env({"COURTSIDE_REGISTRY": str(path)})

    loaded = load_registry(settings.registry)

    assert loaded.path == path
    assert loaded.names() == ["sample_good", "sample_no_options", "sample_one_date"]
