"""What a scraper declares on its class, and `scrapers check` verifying it.

A scraper's validator, fan-out children and cross-source lines are class attributes (Scraper in
scrapers/core/scraper.py); nothing looks them up by name elsewhere. `scrapers check` reports a
scraper without a validator and a fan-out child that is not registered or lacks an option its
parent fills. The sample classes below are the code side of the registry files written here.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, ClassVar

import pytest

from scrapers.cli import main
from scrapers.core.fanout import Child, FanOut, FanOutRef, GameRef
from scrapers.core.options import NoOptions, ScraperOptions, option
from scrapers.core.registry import load_registry
from scrapers.core.request import Page, Request
from scrapers.core.scraper import ParseContext, Parsed, Scraper
from scrapers.core.verdict import Check, Document, Options, Status
from scrapers.crosscheck.compare import extractors
from scrapers.pipeline.fanout import fan_outs
from tests.conftest import PROJECT_ROOT

HERE = "tests.unit.test_declarations"


def _one_check(document: Document, options: Options) -> list[Check]:
    return [Check("sample", Status.OK)]


def _game_code(parent: Mapping[str, Any], ref: FanOutRef) -> Child | str:
    return (
        Child(ref.game_code, {"game_code": ref.game_code})
        if isinstance(ref, GameRef) and ref.game_code
        else "no"
    )


class _Sample(Scraper[ScraperOptions]):
    """Implements the abstract methods; declares no options and no validator."""

    options_type: ClassVar[type[ScraperOptions]] = NoOptions

    def requests(self, opts: ScraperOptions) -> Sequence[Request]:
        return [Request(url="https://example.invalid/sample")]

    def parse(self, opts: ScraperOptions, pages: Sequence[Page], ctx: ParseContext) -> Parsed:
        return Parsed(document={}, record_count=0, no_data_reason="sample")


class ChildOptions(ScraperOptions):
    game_code: str = option("str", example="20240115/HOUPHI", required=True, pattern=r"[0-9]{8}/[A-Z]{6}")


class ChildScraper(_Sample):
    options_type = ChildOptions
    validator = _one_check


class ParentScraper(_Sample):
    """Right: its child is registered and has the one option each ref fills."""

    validator = _one_check
    fan_out = (FanOut("sample_child", ("game_code",), _game_code),)


class NoValidatorScraper(_Sample):
    """Forgets its validator."""


class UnregisteredChildScraper(_Sample):
    validator = _one_check
    fan_out = (FanOut("sample_gamebook", ("game_code",), _game_code),)


class UnknownFilledOptionScraper(_Sample):
    validator = _one_check
    fan_out = (
        FanOut("sample_child", ("game_code", "event_id"), _game_code),
        FanOut("sample_child", ("game_code",), _game_code, default=False),
    )


def _registry(tmp_path: Path, classes: Mapping[str, str]) -> Path:
    entries = [
        {
            "name": name,
            "class": f"{HERE}:{cls}",
            "source": "sample",
            "description": "sample",
            "path": f"test/{name}/{{date}}/{{timestamp}}.json",
        }
        for name, cls in classes.items()
    ]
    path = tmp_path / "registry.yaml"
    document = {"sources": {"sample": {"description": "samples"}}, "scrapers": entries}
    path.write_text(json.dumps(document), encoding="utf-8")  # JSON is YAML
    return path


def _check(
    tmp_path: Path,
    classes: Mapping[str, str],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> tuple[int, list[str]]:
    monkeypatch.setenv("COURTSIDE_REGISTRY", str(_registry(tmp_path, classes)))
    code = main(["check"])
    out = capsys.readouterr().out
    return code, out.splitlines()


RIGHT = {"sample_parent": "ParentScraper", "sample_child": "ChildScraper"}


def test_check_passes_declarations_that_fit(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    code, lines = _check(tmp_path, RIGHT, monkeypatch, capsys)
    assert code == 0, lines
    assert lines[0].startswith("ok: 2 scrapers")


def test_check_reports_a_missing_validator_and_each_fan_out_that_does_not_fit(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    classes = {
        **RIGHT,
        "sample_unchecked": "NoValidatorScraper",
        "sample_to_nowhere": "UnregisteredChildScraper",
        "sample_fills_too_much": "UnknownFilledOptionScraper",
    }
    code, lines = _check(tmp_path, classes, monkeypatch, capsys)
    assert code == 2
    assert lines == [
        "problem: sample_fills_too_much: fan-out child sample_child has no option 'event_id' to fill "
        "(its options: game_code)",
        "problem: sample_fills_too_much: declares one child twice in its fan-out "
        "(sample_child, sample_child)",
        "problem: sample_to_nowhere: fan-out child 'sample_gamebook' is not a registered scraper "
        "(name one of registry.yaml's scrapers, e.g. sample_child)",
        f"problem: sample_unchecked: {HERE}:NoValidatorScraper declares no validator; add "
        "`validator = validators.<function>`, a function of (document, options) in tests/unit/validators.py",
    ]


def test_fan_out_and_cross_source_lines_are_found_through_the_registered_classes() -> None:
    registry = load_registry()
    per_game = {"nbac_gamebook_pdf": True, "nbac_play_by_play": False, "nbac_team_boxscore": False}
    declared = {
        parent: {fan_out.child: fan_out.default for fan_out in children}
        for parent, children in fan_outs(registry).items()
    }
    assert declared == {
        "nbac_scoreboard_v2": per_game,
        "nbac_schedule_api": dict.fromkeys(per_game, False),
        "nbac_schedule_cdn": dict.fromkeys(per_game, False),
        "oddsa_events": {"oddsa_player_props": True, "oddsa_game_lines": False},
        "oddsa_events_his": {"oddsa_player_props_his": True, "oddsa_game_lines_his": False},
        "bp_events": {"bp_player_props": True},
    }
    assert list(extractors(registry)) == [
        "bdl_box_scores",
        "bdl_player_box_scores",
        "espn_game_boxscore",
        "nbac_gamebook_pdf",
        "nbac_player_boxscore",
    ]


def test_validators_and_lines_modules_import_no_scraper_module() -> None:
    # Scraper modules import their validators and line extractors; an import back would be a cycle.
    registry = load_registry()
    scraper_modules = sorted({entry.target.partition(":")[0] for entry in registry.scrapers.values()})
    helpers = sorted(
        f"scrapers.sources.{path.parent.name}.{path.stem}"
        for pattern in ("*/validators.py", "*/box_validators.py", "*/lines.py")
        for path in (PROJECT_ROOT / "scrapers" / "sources").glob(pattern)
    )
    assert len(helpers) == 9
    program = (
        "import importlib, json, sys\n"
        f"for name in {helpers!r}: importlib.import_module(name)\n"
        f"print(json.dumps([name for name in {scraper_modules!r} if name in sys.modules]))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", program], capture_output=True, text=True, cwd=PROJECT_ROOT, check=True
    )
    assert json.loads(done.stdout) == []
