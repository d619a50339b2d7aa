"""``python -m rostersync.bench --students N [--json FILE]``: run and summarise the benchmark."""

from __future__ import annotations

import argparse
import json
import shutil
import sys
from pathlib import Path

from rostersync.bench.report import markdown
from rostersync.bench.run import MODES, run_all

NEEDED_BYTES_PER_STUDENT = 4_000  # district files plus the SQLite store, with room to spare


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m rostersync.bench", description=__doc__)
    parser.add_argument("--students", type=int, default=1_000_000)
    parser.add_argument("--json", type=Path, default=None, help="write the figures here")
    parser.add_argument("--root", type=Path, default=Path(".bench"), help="the cache folder")
    parser.add_argument("--markdown", type=Path, default=None, help="write the summary here")
    parser.add_argument(
        "--postgresql",
        metavar="URL",
        default=None,
        help="sync into PostgreSQL instead of SQLite: a server URL such as "
        "postgresql+psycopg://postgres@127.0.0.1:5432/postgres (the database "
        "rostersync_bench is dropped and created there)",
    )
    args = parser.parse_args(argv)
    args.root.mkdir(parents=True, exist_ok=True)
    free = shutil.disk_usage(args.root).free
    if free < args.students * NEEDED_BYTES_PER_STUDENT:
        sys.exit(
            f"Only {free / 2**30:.1f} GiB are free where {args.root} is; the benchmark for "
            f"{args.students:,} students needs about "
            f"{args.students * NEEDED_BYTES_PER_STUDENT / 2**30:.1f} GiB. Free some space."
        )
    results = run_all(args.students, args.root, args.postgresql)
    summary = markdown(args.students, results, "PostgreSQL" if args.postgresql else "SQLite")
    print(summary)
    if args.markdown is not None:
        args.markdown.write_text(summary, encoding="utf-8")
    if args.json is not None:
        figures = {mode: results[mode] for mode in MODES}
        args.json.write_text(json.dumps(figures, indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
