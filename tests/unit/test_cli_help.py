"""The CLI explains itself: a scraper's own --help, near-miss suggestions, --version, global flags."""

from __future__ import annotations

import importlib.metadata
from pathlib import Path

import pytest

from scrapers.cli import EXIT_OK, EXIT_USAGE, main
from scrapers.core.registry import load_registry


def _run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = main(argv)
    captured = capsys.readouterr()
    return code, captured.out, captured.err


@pytest.mark.parametrize("name", load_registry().names())
def test_run_name_help_lists_every_option_with_type_default_and_example(
    name: str, capsys: pytest.CaptureFixture[str]
) -> None:
    entry = load_registry().get(name)
    code, out, _ = _run(["run", name, "--help"], capsys)
    assert code == EXIT_OK
    assert f"scrapers run {name}" in out
    assert entry.path_shape in out
    for spec in entry.options:
        line = next(line for line in out.splitlines() if line.strip().startswith(f"--{spec.name} "))
        assert spec.type.value.upper() in line
        assert f"example {spec.example}" in line
        assert ("required" if spec.required else (spec.default or "optional")) in line


def test_run_help_without_a_name_is_the_command_help(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = _run(["run", "--help"], capsys)
    assert code == EXIT_OK
    assert "--replay" in out


def test_run_without_a_name_is_a_usage_error_with_an_example(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = _run(["run"], capsys)
    assert code == EXIT_USAGE
    assert "example: scrapers run" in err


def test_a_misspelled_scraper_or_option_gets_a_suggestion(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = _run(["run", "nbac_scorebord_v2", "--gamedate", "2024-01-15"], capsys)
    assert code == EXIT_USAGE
    assert "did you mean 'nbac_scoreboard_v2'?" in err
    code, _, err = _run(["run", "nbac_scoreboard_v2", "--game-date", "2024-01-15", "--replay"], capsys)
    assert code == EXIT_USAGE
    assert "did you mean 'game_date'?" in err


def test_nothing_close_gets_no_suggestion(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = _run(["run", "zzzz"], capsys)
    assert code == EXIT_USAGE
    assert "did you mean" not in err


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as done:
        main(["--version"])
    assert done.value.code == 0
    assert capsys.readouterr().out.strip() == f"scrapers {importlib.metadata.version('courtside')}"


def test_verbose_works_anywhere_on_the_line(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    # After the scraper's options it is the global flag, not an unknown option of the scraper.
    code, _, err = _run(
        ["run", "nbac_scoreboard_v2", "--gamedate", "2024-01-15", "--replay", "-v", "--out", str(tmp_path)],
        capsys,
    )
    assert code == EXIT_OK, err
    assert "is not an option" not in err
