"""The README's scraper table is generated from registry.yaml and must not drift."""

from __future__ import annotations

from scrapers.cli import scraper_table_markdown
from scrapers.core.registry import load_registry
from tests.conftest import PROJECT_ROOT

BEGIN, END = "<!-- scrapers:begin -->", "<!-- scrapers:end -->"


def test_readme_scraper_table_matches_the_registry() -> None:
    readme = (PROJECT_ROOT / "README.md").read_text()
    table = readme.split(BEGIN, 1)[1].split(END, 1)[0].strip()
    expected = scraper_table_markdown(load_registry())
    assert table == expected, "regenerate with: scrapers list --markdown (between the scrapers markers)"


def test_readme_starts_with_the_two_commands() -> None:
    readme = (PROJECT_ROOT / "README.md").read_text()
    blocks = readme.split("```sh\n")
    assert blocks[1].startswith("make demo\n")
    assert blocks[2].startswith("make test\n")
    makefile = (PROJECT_ROOT / "Makefile").read_text()
    assert "\ndemo:" in makefile
    assert "\ntest:" in makefile
    assert (PROJECT_ROOT / ".ci" / "run").read_text().rstrip().endswith("exec make test")
