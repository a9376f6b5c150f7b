"""The docs are a tree (issue 31): every relative link in README.md and docs/**/*.md resolves,
to a file or directory and, with a #fragment, to a heading of that Markdown file (GitHub's
anchors)."""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import unquote

import pytest

from pricing_pipeline_tests.recordings import REPO_ROOT

DOCS = [REPO_ROOT / "README.md", *sorted((REPO_ROOT / "docs").rglob("*.md"))]
# [text](target) and [text](target "title"); images too. Not inside code spans or blocks.
LINK = re.compile(r"!?\[(?:[^\]\\]|\\.)*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
FENCE = re.compile(r"^(```|~~~).*?^\1", re.S | re.M)
CODE_SPAN = re.compile(r"(`+).+?\1", re.S)
HEADING = re.compile(r"^#{1,6}\s+(.*?)\s*#*\s*$", re.M)


def anchors(path: Path) -> set[str]:
    """GitHub's heading anchors: lowercase, punctuation dropped, spaces to hyphens, repeats
    numbered."""
    seen: dict[str, int] = {}
    found = set()
    text = FENCE.sub("", path.read_text())
    for heading in HEADING.findall(text):
        heading = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", heading)  # a link's text
        slug = re.sub(r"[^\w\- ]", "", heading.strip().lower().replace("`", "")).replace(" ", "-")
        count = seen.get(slug, 0)
        seen[slug] = count + 1
        found.add(slug if count == 0 else f"{slug}-{count}")
    return found


def links(path: Path) -> list[str]:
    text = CODE_SPAN.sub("", FENCE.sub("", path.read_text()))
    return [target for target in LINK.findall(text) if not re.match(r"^[a-z][a-z0-9+.-]*:", target, re.I)]


def broken(path: Path, root: Path = REPO_ROOT) -> list[str]:
    problems = []
    for target in links(path):
        file_part, _, fragment = target.partition("#")
        resolved = (path.parent / unquote(file_part)).resolve() if file_part else path
        if not resolved.exists():
            problems.append(f"{target}: no such file")
        elif fragment and resolved.suffix == ".md" and fragment.lower() not in anchors(resolved):
            problems.append(f"{target}: no heading #{fragment} in {resolved.relative_to(root)}")
    return problems


@pytest.mark.parametrize("path", DOCS, ids=lambda p: str(p.relative_to(REPO_ROOT)))
def test_every_relative_link_resolves(path: Path):
    assert broken(path) == []


def test_the_checker_catches_a_broken_file_and_anchor(tmp_path):
    (tmp_path / "a.md").write_text(
        "# Title: here\n\n## Held `models`\n\n[ok](#title-here) [ok](b.md#held-models) [ok](b.md)\n"
        "[bad](#nope) [bad](c.md) `[not a link](x.md)` [web](https://example.com/x)\n\n```\n[in code](y.md)\n```\n"
    )
    (tmp_path / "b.md").write_text("# B\n\n## Held `models`\n")
    assert broken(tmp_path / "a.md", tmp_path) == ["#nope: no heading #nope in a.md", "c.md: no such file"]


def test_readme_links_every_doc_in_the_tree():
    readme = (REPO_ROOT / "README.md").read_text()
    for name in ("operating.md", "pricing-rules.md", "production.md", "configuration.md", "providers.md", "database.md"):
        assert (REPO_ROOT / "docs" / name).exists(), name
        assert f"](docs/{name})" in readme, name
