"""The README a newcomer reads: short enough to read (at most 12,000 bytes), its layout naming every module, and
every relative link in it and in docs/ pointing at a file that exists."""

import re

import pytest

from tests.conftest import REPO

README = (REPO / "README.md").read_text()


def test_the_readme_is_short():
    assert len(README.encode()) <= 12_000, "measurement detail belongs in docs/"


def test_the_layout_names_every_module():
    layout = README[README.index("## Layout") :]
    modules = [
        *(REPO / "toxic").rglob("*.py"),
        *(REPO / "train").glob("*.py"),
        *(REPO / "bench").glob("*.py"),
    ]
    missing = sorted(
        str(m.relative_to(REPO))
        for m in modules
        if m.stem != "__init__" and not re.search(rf"\b{m.stem}\b", layout)
    )
    assert not missing, f"README.md's layout does not name {missing}"


@pytest.mark.parametrize("doc", ["README.md", *sorted(p.name for p in (REPO / "docs").glob("*.md"))])
def test_relative_links_resolve(doc):
    path = REPO / doc if doc == "README.md" else REPO / "docs" / doc
    for target in re.findall(r"\]\(([^)#:]+)(?:#[^)]*)?\)", path.read_text()):
        assert (path.parent / target).exists(), f"{doc} links to {target}, which does not exist"
