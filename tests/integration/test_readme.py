"""The README's generated tables (scrapers from registry.yaml, settings from Settings) must not drift."""

from __future__ import annotations

from scrapers.cli import scraper_table_markdown
from scrapers.core.registry import load_registry
from scrapers.core.settings import settings_table_markdown
from tests.conftest import PROJECT_ROOT

BEGIN, END = "<!-- scrapers:begin -->", "<!-- scrapers:end -->"
SETTINGS_BEGIN, SETTINGS_END = "<!-- settings:begin -->", "<!-- settings:end -->"


def test_readme_scraper_table_matches_the_registry() -> None:
    readme = (PROJECT_ROOT / "README.md").read_text()
    table = readme.split(BEGIN, 1)[1].split(END, 1)[0].strip()
    expected = scraper_table_markdown(load_registry())
    assert table == expected, "regenerate with: scrapers list --markdown (between the scrapers markers)"


def test_readme_settings_table_matches_the_settings_model() -> None:
    readme = (PROJECT_ROOT / "README.md").read_text()
    table = readme.split(SETTINGS_BEGIN, 1)[1].split(SETTINGS_END, 1)[0].strip()
    assert table == settings_table_markdown(), (
        "regenerate with: scrapers list --settings (between the settings markers)"
    )


def test_readme_starts_with_the_two_commands() -> None:
    readme = (PROJECT_ROOT / "README.md").read_text()
    blocks = readme.split("```sh\n")
    assert blocks[1].startswith("make demo\n")
    assert blocks[2].startswith("make test\n")
    makefile = (PROJECT_ROOT / "Makefile").read_text()
    assert "\ndemo:" in makefile
    assert "\ntest:" in makefile
    assert (PROJECT_ROOT / ".ci" / "run").read_text().rstrip().endswith("exec make test")
