"""Print the SIS sync report for people (the JSON view, laid out with Rich)."""

from __future__ import annotations

from typing import Any

from rich.table import Table

from rostersync.cli.output import console

ACTION_WORDS = {
    "check_new_data": "Check for new Clever data  (rostersync hold check-new-data {ref})",
    "confirm_removals": "Confirm removals  (rostersync hold confirm-removals {ref})",
    "reconnect": "I fixed it  (rostersync hold reconnect {ref})",
}


def print_report(data: dict[str, Any]) -> None:
    school = data["school"]
    console.print(f"[bold]{_esc(school['name'])}[/] ({school['id']}, Clever {school['source_id']})")
    hold = school["hold"]
    state = school["state"] + (f" — {hold['kind']} since {hold['since']}" if hold else "")
    console.print(f"State: {_esc(state)}")
    console.print(f"Last successful sync: {school['last_success_at'] or 'never'}")
    if hold:
        console.print("[bold]Why it is on hold:[/]")
        for finding in hold["findings"][:20]:
            console.print(f"  - {_esc(finding['message'])}")
        console.print("[bold]What you can do:[/]")
        for action in data["actions"]:
            console.print("  - " + _esc(ACTION_WORDS[action].format(ref=school["source_id"])))
    counts = Table("students", "teachers", "staff", "contacts", "classes", "enrollments")
    c = school["counts"]
    counts.add_row(
        *(
            str(c[k])
            for k in ("students", "teachers", "staff", "contacts", "classes", "enrollments")
        )
    )
    console.print(counts)
    if data["held_changes_total"]:
        console.print(f"Held changes: {data['held_changes_total']} (first 20 below)")
        for change in data["held_changes"][:20]:
            console.print(f"  {change['operation']:8} {change['entity']:14} {_esc(change['name'])}")
    runs = Table("run", "finished", "trigger", "outcome", "hold", "errors", "alerts")
    for run in data["runs"][:10]:
        runs.add_row(
            run["id"],
            run["finished_at"],
            run["trigger"],
            run["outcome"],
            run["hold_kind"] or "",
            str(run["errors"]),
            str(run["alerts"]),
        )
    console.print(runs)
    console.print(f"Errors: {len(data['errors'])}, alerts: {len(data['alerts'])}")
    for problem in (data["errors"] + data["alerts"])[:10]:
        console.print(f"  [{problem['severity']}] {problem['message']}", markup=False)


def _esc(text: str) -> str:
    from rich.markup import escape

    return escape(text)
