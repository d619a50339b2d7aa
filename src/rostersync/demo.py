"""``make demo``: the whole product in two minutes, against the local Clever sandbox.

It generates a demo district, serves it from the sandbox over loopback, and drives the real
``rostersync`` command line (as subprocesses, so every command shown is one you can type):
a first sync, then one school for each hold kind, the status table, the emails, and each
hold resolved. Everything lives under ``.demo/`` and is made afresh on every run.
"""

from __future__ import annotations

import email
import email.policy
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

from rich.console import Console
from rich.rule import Rule

from rostersync.sandbox.generator import generate_district
from rostersync.sandbox.server import SandboxServer
from rostersync.sandbox.state import SandboxState

WORKDIR = Path(".demo")
console = Console()


class Demo:
    def __init__(self, server: SandboxServer) -> None:
        self.server = server
        self.state: SandboxState = server.state
        self.env = {
            **os.environ,
            "COLUMNS": os.environ.get("COLUMNS", "120"),
            "ROSTERSYNC_DATABASE_URL": f"sqlite:///{WORKDIR / 'rostersync.db'}",
            "ROSTERSYNC_EMAIL_BACKEND": "file",
            "ROSTERSYNC_SECRET_KEY_FILE": str(WORKDIR / "secret.key"),
            "ROSTERSYNC_EMAIL_FILE_DIR": str(WORKDIR / "mail"),
            "ROSTERSYNC_EMAIL_FROM": "rostersync-demo@example.org",
        }
        self.env.pop("ROSTERSYNC_SMTP_URL", None)

    def run(self, *args: str, show: bool = True) -> str:
        """Run ``rostersync ARGS`` and echo the command and its output."""
        if show:
            console.print(f"[bold cyan]$ rostersync {' '.join(args)}[/]", highlight=False)
        proc = subprocess.run(
            [sys.executable, "-m", "rostersync", *args],
            env=self.env,
            capture_output=True,
            text=True,
            check=False,
        )
        if show:
            sys.stdout.write(proc.stdout)
        if proc.returncode not in (0, 2):
            sys.stderr.write(proc.stderr)
            raise SystemExit(f"The demo stopped: 'rostersync {' '.join(args)}' failed.")
        return proc.stdout

    def story(self) -> None:
        self.chapter("1. Connect the district and sync it")
        self.run("init")
        district = self.run(
            "district",
            "add",
            "--name",
            "Demo Unified",
            "--clever-token",
            self.server.token,
            "--clever-base-url",
            self.server.base_url,
        ).strip()
        self.run("admin", "add", "--email", "district.admin@example.org", "--district", district)
        self.run("sync")
        self.run("status")
        schools = json.loads(self.run("status", "--json", show=False))["schools"]
        a, b, c = (s["source_id"] for s in schools[:3])
        names = {s["source_id"]: s["name"] for s in schools}

        self.chapter("2. The data goes wrong in three schools")
        removed = self.state.remove_share_of_students(a, 0.3)
        console.print(f"{names[a]}: {len(removed)} students vanish from the share.")
        student = sorted(self.state.users_of_school(b, "student"))[0]
        extra = self.state.add_contacts(student, 6)
        emergency = self.state.set_contact_types(b, "Emergency", 1)
        console.print(
            f"{names[b]}: a student gets {len(extra)} more contacts; one contact "
            "becomes an Emergency contact."
        )
        self.state.unshare_school(c)
        console.print(f"{names[c]}: the school is unshared from the app.")
        self.run("sync")
        self.run("status")
        self.show_mail()
        self.run("report", a)

        self.chapter("3. Resolve each hold")
        console.print(f"{names[a]} (data_removals): the removals are real, so confirm them.")
        self.run("hold", "confirm-removals", a, "--actor", "district.admin@example.org")
        console.print(f"{names[b]} (data_configuration): fix the share in Clever, then re-check.")
        for contact_id in {*extra, *emergency}:
            self.state.delete_user(contact_id)
        self.run("hold", "check-new-data", b, "--yes", "--actor", "district.admin@example.org")
        console.print(
            f"{names[c]} (disconnected): reshare the school in Clever, then 'I fixed it'."
        )
        self.state.share_school(c)
        self.run("hold", "reconnect", c, "--actor", "district.admin@example.org")
        self.run("status")
        self.chapter("Done")
        console.print(
            "Everything is in .demo/ (the SQLite database and the emails). To explore:\n"
            f"  export ROSTERSYNC_DATABASE_URL={self.env['ROSTERSYNC_DATABASE_URL']}\n"
            f"  rostersync report {a}\n"
            "The sandbox stopped with the demo; 'rostersync sandbox serve' starts one.",
            highlight=False,
        )

    def chapter(self, title: str) -> None:
        console.print(Rule(title))

    def show_mail(self) -> None:
        mail = sorted((WORKDIR / "mail").glob("*.eml"))
        console.print(f"[bold]{len(mail)} hold emails written to .demo/mail/:[/]")
        for path in mail:
            message = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
            console.print(f"  To: {message['To']}  Subject: {message['Subject']}", highlight=False)


def main() -> None:
    if WORKDIR.exists():
        shutil.rmtree(WORKDIR)
    WORKDIR.mkdir()
    console.print(Rule("rostersync demo"))
    console.print("Generating a demo district (seed 2026, 1,200 students, 4 schools)...")
    data = generate_district(seed=2026, students=1200, schools=4)
    state = SandboxState.from_data(data)
    with SandboxServer(state) as server:
        console.print(f"Clever sandbox serving at {server.base_url}/v3.0")
        Demo(server).story()


if __name__ == "__main__":
    main()
