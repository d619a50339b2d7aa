"""The benchmark's sandbox, in its own process so its memory and CPU are not the sync's.

``python -m rostersync.bench.serve DIR [--one-percent]`` loads the district, optionally
applies the 1 % change, warms the pages, prints one JSON line (base URL, token, record
count, change counts) and serves until its stdin closes.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from rostersync.bench.workload import apply_one_percent
from rostersync.sandbox.district_files import load_district
from rostersync.sandbox.server import SandboxServer
from rostersync.sandbox.state import SandboxState


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("dir", type=Path)
    parser.add_argument("--one-percent", action="store_true")
    args = parser.parse_args(argv)
    data = load_district(args.dir)
    changes = apply_one_percent(data) if args.one_percent else {}
    records = sum(data.counts().values()) + 1
    state = SandboxState.from_data(data)
    with SandboxServer(state) as server:
        line = {
            "base_url": server.base_url,
            "token": server.token,
            "records": records,
            "changes": changes,
        }
        print(json.dumps(line), flush=True)
        sys.stdin.read()  # serve until the benchmark closes our stdin


if __name__ == "__main__":
    main()
