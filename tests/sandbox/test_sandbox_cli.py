"""``rostersync sandbox generate`` and ``serve`` from the command line."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from rostersync.cli.main import app
from rostersync.sandbox.generator import generate_district, generate_to_dir, load_district


def test_generate_writes_the_district_and_prints_counts(tmp_path: Path) -> None:
    out = tmp_path / "district"

    result = CliRunner().invoke(
        app, ["sandbox", "generate", "--seed", "4", "--students", "250", "--out", str(out)]
    )

    assert result.exit_code == 0, result.output
    loaded = load_district(out)
    expected = generate_district(4, 250)
    assert loaded.counts() == expected.counts()
    assert loaded.token in result.output
    for kind, count in expected.counts().items():
        assert kind in result.output
        assert f"{count:,}" in result.output


def test_generate_reports_progress_per_school(tmp_path: Path) -> None:
    seen: list[int] = []

    counts = generate_to_dir(1, 900, tmp_path, schools=3, progress=seen.append)

    assert seen[-1] == 900
    assert len(seen) == 3
    assert counts["schools"] == 3


def test_serve_documents_its_options() -> None:
    result = CliRunner().invoke(app, ["sandbox", "serve", "--help"])

    assert result.exit_code == 0
    for option in ("--host", "--port", "--token", "--data", "--seed", "--students", "--schools"):
        assert option in result.output
