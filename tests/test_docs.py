"""The manual: its command reference says what the CLI does, and the site builds without a warning."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

from glo.cli.reference import markdown

ROOT = Path(__file__).resolve().parents[1]
MKDOCS = str(Path(sys.executable).with_name("mkdocs"))


def test_command_reference_matches_the_cli():
    """docs/reference.md is what `python -m glo.cli.reference` writes today (regenerate it after a
    change of a command or option)."""
    committed = (ROOT / "docs" / "reference.md").read_text()
    assert committed == markdown(), "docs/reference.md is stale: python -m glo.cli.reference > docs/reference.md"


def test_the_reference_names_every_command_and_option():
    page = markdown()
    for command in ("glo run", "glo sweep", "glo compare", "glo runs list", "glo runs delete", "glo sweeps show",
                    "glo serve"):
        assert f"`{command}`" in page
    for option in ("--sigma", "--decay", "--loss", "--where", "--workers", "--ray", "--resume"):
        assert f"`{option} " in page or f"`{option}`" in page or f", {option}" in page, option


def test_the_site_builds_without_warnings(tmp_path):
    result = subprocess.run([MKDOCS, "build", "--strict", "--site-dir", str(tmp_path / "site")], cwd=ROOT,
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "WARNING" not in result.stderr, result.stderr[-3000:]
    for page in ("index", "getting-started", "console", "reference"):
        html = tmp_path / "site" / ("index.html" if page == "index" else f"{page}/index.html")
        assert html.exists(), html


def test_readme_links_to_pages_that_exist():
    readme = (ROOT / "README.md").read_text()
    links = re.findall(r"\]\(((?:docs/)?[\w./-]+\.md)(?:#[\w-]+)?\)", readme)
    assert links, "README links to the manual"
    missing = [link for link in links if not (ROOT / link).exists()]
    assert not missing, missing
