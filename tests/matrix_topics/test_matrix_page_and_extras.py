"""The generated matrix page is current, and pyproject's extras bounds agree with the matrix."""

import tomllib
from pathlib import Path

from packaging.requirements import Requirement
from packaging.version import Version

from ftdoctor.lock.render import matrix_version
from ftdoctor.matrix import load_matrix
from ftdoctor.matrix.docs import newest_versions, render

REPO = Path(__file__).resolve().parents[2]
M = load_matrix()


def test_matrix_page_is_generated_and_current():
    page = (REPO / "docs" / "matrix.md").read_text(encoding="utf-8")
    assert page == render(M, matrix_version()), "docs/matrix.md is stale: run `ftdoctor matrix docs -o docs/matrix.md --force`"


def test_matrix_page_shows_every_row_source():
    page = render(M, matrix_version())
    for release in M.torch.releases:
        assert release.source.replace("|", "\\|") in page
    for row in M.bitsandbytes.releases:
        assert row.source in page
    assert "## flash-attn" in page and "## bitsandbytes" in page and "## DeepSpeed" in page


def _extras() -> list[Requirement]:
    data = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))
    return [Requirement(r) for reqs in data["project"]["optional-dependencies"].values() for r in reqs]


def _known(name: str) -> list[Version]:
    """Every version of a package the matrix has a row for."""
    if name == "torch":
        return sorted(Version(v) for r in M.torch.releases for v in r.versions)
    if name == "flash-attn":
        return sorted(Version(r.version) for r in M.flash_attn.releases)
    if name == "bitsandbytes":
        return sorted(Version(v) for r in M.bitsandbytes.releases for v in (r.version, *r.versions))
    if name == "deepspeed":
        return sorted(Version(v) for v in M.deepspeed.known_versions)
    package = M.hf_releases.package(name)
    return sorted(Version(r.version) for r in package.releases) if package else []


def test_extras_admit_the_newest_release_the_matrix_knows():
    newest = newest_versions(M)
    checked = 0
    for req in _extras():
        if req.name in newest:
            assert req.specifier.contains(newest[req.name], prereleases=True), f"pyproject {req} excludes {req.name} {newest[req.name]}"
            checked += 1
    assert checked >= 8  # torch, the HF stack, bitsandbytes, deepspeed, flash-attn


def test_extras_floors_fit_each_other_per_the_matrix():
    """The oldest release each extra admits must accept the oldest release the others admit."""
    extras = {req.name: req for req in _extras() if _known(req.name)}
    floors = {name: min(v for v in _known(name) if req.specifier.contains(v, prereleases=True)) for name, req in extras.items()}
    for name in ("transformers", "trl", "peft", "accelerate", "datasets"):
        row = M.hf_releases.package(name).release(str(floors[name]))
        if row.torch:
            assert Requirement(f"torch{row.torch}").specifier.contains(floors["torch"]), (name, row.version, row.torch)
        for text in row.requires:
            req = Requirement(text)
            if req.name in floors and req.marker is None:
                assert req.specifier.contains(floors[req.name], prereleases=True), (name, row.version, text, floors[req.name])
