"""``rostersync sandbox ...``: serve and generate Clever sandbox districts."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeElapsedColumn
from rich.table import Table

from rostersync.sandbox.district import DistrictData
from rostersync.sandbox.district_files import read_settings
from rostersync.sandbox.generator import generate_district, generate_to_dir, load_district

app = typer.Typer(help="A local Clever Data API v3.0 simulator.", no_args_is_help=True)

DataOption = Annotated[
    Path | None,
    typer.Option("--data", help="Serve the district in this directory (see docs/sandbox.md)."),
]
SeedOption = Annotated[int, typer.Option("--seed", help="Seed of the generated district.")]
StudentsOption = Annotated[int, typer.Option("--students", help="Students to generate.", min=0)]
SchoolsOption = Annotated[
    int | None,
    typer.Option("--schools", help="Schools to generate (default: one per 500 students).", min=1),
]


def _district(data: Path | None, seed: int, students: int, schools: int | None) -> DistrictData:
    if data is not None:
        return load_district(data)
    return generate_district(seed, students, schools)


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8790,
    token: Annotated[str | None, typer.Option(help="Bearer token of the district.")] = None,
    data: DataOption = None,
    seed: SeedOption = 1,
    students: StudentsOption = 500,
    schools: SchoolsOption = None,
) -> None:
    """Serve one district as the Clever Data API v3.0 until Ctrl-C."""
    import uvicorn

    from rostersync.sandbox.server import create_app
    from rostersync.sandbox.state import SandboxState

    state = SandboxState.from_data(_district(data, seed, students, schools), token)
    counts = ", ".join(f"{n} {kind}" for kind, n in state.summary()["counts"].items())
    typer.echo(f"Clever sandbox: http://{host}:{port} (API base http://{host}:{port}/v3.0)")
    typer.echo(f"District {state.district_id}: {counts}")
    typer.echo(f"District token: {state.token}")
    typer.echo(f"OAuth client: {state.client_id} / {state.client_secret}")
    uvicorn.run(create_app(state), host=host, port=port, log_level="info", lifespan="off")


@app.command()
def generate(
    out: Annotated[Path, typer.Option("--out", help="Directory to write the district to.")],
    seed: SeedOption = 1,
    students: StudentsOption = 500,
    schools: SchoolsOption = None,
) -> None:
    """Generate a district deterministically and write it to a directory."""
    console = Console()
    if console.is_terminal and students >= 10_000:
        columns = (*Progress.get_default_columns()[:1], BarColumn(), MofNCompleteColumn())
        with Progress(*columns, TimeElapsedColumn(), console=console) as progress:
            task = progress.add_task("Generating students", total=students)
            counts = generate_to_dir(
                seed,
                students,
                out,
                schools,
                progress=lambda done: progress.update(task, completed=done),
            )
    else:
        counts = generate_to_dir(seed, students, out, schools)
    table = Table("records", "count")
    for kind, count in counts.items():
        table.add_row(kind, f"{count:,}")
    console.print(f"Wrote the district to {out}")
    console.print(table)
    console.print(f"District token: {read_settings(out)['token']}", soft_wrap=True)
