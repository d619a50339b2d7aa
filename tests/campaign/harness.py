"""A seeded fault campaign: random source changes, faults and admin actions, with the
invariants checked after every run.

After each run, for every school: its roster equals either its previous applied state or
the new source state, never a mix; a run that applied left exactly the source state; a held
or failed run left the previous state; the state and hold kind follow from the outcome.
At the end every hold email was sent exactly once. ``make campaign`` runs 200 runs and ends
with ``campaign: R runs, F faults, V violations``.
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from rostersync.domain.changes import apply_changes
from rostersync.domain.roster import SchoolRoster
from rostersync.domain.state import Outcome, SchoolStatus, SyncState
from rostersync.errors import RostersyncError
from rostersync.sandbox.generator import generate_district
from rostersync.sandbox.server import SandboxServer
from rostersync.sandbox.state import SandboxState
from rostersync.service import districts, holds
from rostersync.service.assess import assess
from rostersync.service.context import Services
from rostersync.service.model import OutboxMessage, RunRecord
from rostersync.service.outbox import deliver_pending
from rostersync.service.ports import RosterSource
from rostersync.service.sync import sync_district
from rostersync.sources.clever.retry import RetryPolicy
from rostersync.sources.clever.source import CleverSource
from rostersync.storage import SqlStore, upgrade_database

FAULTS: list[tuple[str, str, dict[str, object]]] = [
    (r"^/v3.0/users$", "503", {"count": 1}),
    (r"^/v3.0/sections$", "500", {"count": 2}),
    (r"^/v3.0/users$", "502", {"count": 5}),  # outlasts the retries: the run fails
    (r"^/v3.0/schools$", "429", {"count": 1, "reset_in": 0}),
    (r"^/v3.0/users$", "slow", {"count": 1, "delay": 0.05}),
    (r"^/v3.0/sections$", "timeout", {"count": 1, "delay": 1.5}),
    (r"^/v3.0/users$", "timeout", {"count": 4, "delay": 1.5}),
    (r"^/v3.0/users$", "malformed_json", {"count": 1}),
    (r"^/v3.0/sections$", "malformed_json", {"count": 4}),
    (r"^/v3.0/users$", "html_error", {"count": 1, "status": 503}),
    (r"^/v3.0/users$", "broken_next", {"count": 1}),
    (r"^/v3.0/sections$", "broken_next", {"count": 1, "mode": "bogus"}),
]
MID_FETCH = ("revoke_token", "unshare_school")


def same(a: SchoolRoster | None, b: SchoolRoster | None) -> bool:
    """Two rosters hold the same records (whatever internal school id they carry)."""
    if a is None or b is None:
        return a is b
    return (a.accounts, a.links, a.classes, a.memberships, a.contact_links) == (
        b.accounts,
        b.links,
        b.classes,
        b.memberships,
        b.contact_links,
    )


class FlakyMailer:
    """Fails now and then, like a real SMTP server; counts deliveries per dedupe key."""

    def __init__(self, rng: random.Random, failure_rate: float) -> None:
        self.rng = rng
        self.failure_rate = failure_rate
        self.sent: Counter[str] = Counter()

    def send(self, message: OutboxMessage) -> None:
        if self.rng.random() < self.failure_rate:
            raise RostersyncError("The campaign's SMTP server is having a bad moment.")
        self.sent[message.dedupe_key] += 1


class TriggerTransport(httpx.BaseTransport):
    """Runs a callback just before the Nth request: a change in Clever during our fetch."""

    def __init__(self, at: int, action: Callable[[], None]) -> None:
        self.inner = httpx.HTTPTransport()
        self.at, self.action, self.seen = at, action, 0

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        self.seen += 1
        if self.seen == self.at:
            self.action()
        return self.inner.handle_request(request)

    def close(self) -> None:
        self.inner.close()


@dataclass
class Tally:
    runs: int = 0
    faults: int = 0
    violations: list[str] = field(default_factory=list)
    hold_entries: int = 0


class Campaign:
    def __init__(self, seed: int, store_url: str, mirror_url: str, server: SandboxServer) -> None:
        self.rng = random.Random(seed)
        self.server = server
        self.state: SandboxState = server.state
        self.store = SqlStore(store_url)
        self.mailer = FlakyMailer(self.rng, failure_rate=0.3)
        self.trigger: TriggerTransport | None = None
        self.services = Services(store=self.store, sources=self.source, mailer=self.mailer)
        config = districts.add_district(self.services, "Campaign", server.token, server.base_url)
        districts.add_admin(self.services, "admin@campaign.example", config.id)
        self.district_id = config.id
        self.mirror = SqlStore(mirror_url)
        self.mirror_services = Services(store=self.mirror, sources=self.clean_source)
        mirror = districts.add_district(
            self.mirror_services, "Mirror", server.token, server.base_url
        )
        districts.set_policy(
            self.mirror_services,
            mirror.id,
            removal_pct=100,
            removal_min=10**9,
            removal_total=10**9,
            max_contacts=10**6,
            blocked_contact_types=[],
        )
        self.mirror_district = mirror.id
        self.tally = Tally()
        self.schools = [s for s, _ in self._school_names()]
        self.unshared: set[str] = set()

    def source(self, base_url: str, token: str) -> RosterSource:
        retry = RetryPolicy(attempts=3, base_delay=0.0, max_delay=0.0, max_total=10.0)
        transport, self.trigger = self.trigger, None
        return CleverSource(base_url, token, retry=retry, timeout=1.0, transport=transport)

    def clean_source(self, base_url: str, token: str) -> RosterSource:
        return CleverSource(base_url, token)

    def _school_names(self) -> list[tuple[str, str]]:
        import json

        return [
            (json.loads(blob)["id"], json.loads(blob)["name"])
            for _, blob in self.state.tables["schools"].items()
        ]

    # -- one run ------------------------------------------------------------------------

    def run_once(self) -> None:
        self.events: list[str] = []
        self.reviewed: dict[str, SchoolRoster] = {}
        self.mutate_source()
        mid_fetch = self.arm_fault()
        before = self.snapshot()
        runs = self.act()
        self.state.faults.clear()
        self.check(before, runs, mid_fetch)
        self.tally.runs += 1

    def mutate_source(self) -> None:
        rng, school = self.rng, self.rng.choice(self.schools)
        choice = rng.random()
        self.events.append(f"mutation {choice:.2f} on {school}")
        if school in self.unshared:
            if choice < 0.5:
                self.state.share_school(school)
                self.unshared.discard(school)
            return
        students = sorted(self.state.users_of_school(school, "student"))
        if choice < 0.35:
            self.state.remove_share_of_sections(school, 0.03)
        elif choice < 0.5 and students:
            self.state.move_student(rng.choice(students), rng.choice(self.schools))
        elif choice < 0.6 and students:
            self.state.remove_share_of_students(school, 0.3)
        elif choice < 0.68 and students:
            self.state.add_contacts(rng.choice(students), 6)
        elif choice < 0.74:
            self.state.set_contact_types(school, rng.choice(["Emergency", "Secondary"]), 1)
        elif choice < 0.8:
            self.state.unshare_school(school)
            self.unshared.add(school)
        elif choice < 0.85:
            self.state.set_district_state(rng.choice(["error", "running", "success"]))

    def arm_fault(self) -> str | None:
        """Maybe a fault on a path, or a change in Clever while we fetch."""
        roll = self.rng.random()
        if roll < 0.45:
            path, kind, opts = self.rng.choice(FAULTS)
            options = dict(opts)
            count = int(options.pop("count"))  # type: ignore[call-overload]
            self.state.faults.add(path, kind, count, **options)
            self.events.append(f"fault {kind} x{count} on {path}")
            self.tally.faults += 1
        elif roll < 0.55:
            what = self.rng.choice(MID_FETCH)
            school = self.rng.choice([s for s in self.schools if s not in self.unshared] or [""])
            at = self.rng.randint(1, 5)
            self.trigger = TriggerTransport(at, self._mid_fetch(what, school))
            self.events.append(f"mid-fetch {what} {school} at request {at}")
            self.tally.faults += 1
            return what
        return None

    def _mid_fetch(self, what: str, school: str) -> Callable[[], None]:
        def action() -> None:
            if what == "revoke_token":
                self.state.revoke_token(self.server.token)
            elif school:
                self.state.unshare_school(school)
                self.unshared.add(school)

        return action

    def act(self) -> list[RunRecord]:
        """A sync, or (when something is on hold) sometimes the admin's action."""
        self.state.restore_token(self.server.token) if self.rng.random() < 0.5 else None
        held = [s for s in self.statuses().items() if s[1].state is SyncState.ON_HOLD]
        if held and self.rng.random() < 0.4:
            school, status = self.rng.choice(held)
            self.events.append(f"admin action on {school} ({status.hold_kind})")
            return self.admin_action(school, status)
        return sync_district(self.services, self.district_id).runs

    def admin_action(self, school: str, status: SchoolStatus) -> list[RunRecord]:
        try:
            if status.hold_kind is not None and status.hold_kind.value == "data_removals":
                self.expect_reviewed(school)
                result = holds.confirm_removals(self.services, school, actor="campaign")
            elif status.hold_kind is not None and status.hold_kind.value == "disconnected":
                result = holds.reconnect(self.services, school, actor="campaign")
            else:
                result = holds.check_new_data(
                    self.services, school, actor="campaign", confirmed=True
                )
        except RostersyncError:
            return []
        return [result.run] if result.run else []

    def expect_reviewed(self, school: str) -> None:
        """Confirm removals applies the reviewed change set, not today's source state."""
        with self.store.unit_of_work() as uow:
            row = uow.get_school(school)
            assert row is not None
            latest = uow.list_runs(row.id, limit=1)
            held = uow.held_change_set(latest[0].id) if latest else None
            if held is not None:
                self.reviewed[school] = apply_changes(uow.load_roster(row.id), held)

    # -- invariants ---------------------------------------------------------------------

    def statuses(self) -> dict[str, SchoolStatus]:
        with self.store.unit_of_work() as uow:
            return {s.source_id: s.status for s in uow.list_schools(self.district_id)}

    def snapshot(self) -> dict[str, tuple[SchoolRoster, SchoolStatus]]:
        out = {}
        with self.store.unit_of_work() as uow:
            for school in uow.list_schools(self.district_id):
                out[school.source_id] = (uow.load_roster(school.id), school.status)
        return out

    def truth(self) -> dict[str, SchoolRoster] | None:
        """The source's state now: a clean sync into a mirror store whose rules never hold."""
        result = sync_district(self.mirror_services, self.mirror_district)
        if result.error:
            return None
        out: dict[str, SchoolRoster] = {}
        with self.mirror.unit_of_work() as uow:
            for run in result.runs:
                row = uow.get_school(run.school_id)
                if row is not None and run.outcome in (Outcome.APPLIED, Outcome.UNCHANGED):
                    out[row.source_id] = uow.load_roster(row.id)
        return out

    def check(self, before: dict, runs: list[RunRecord], mid_fetch: str | None) -> None:
        truth = self.truth()
        after = self.snapshot()
        by_school = {}
        with self.store.unit_of_work() as uow:
            for run in runs:
                row = uow.get_school(run.school_id)
                if row is not None:
                    by_school[row.source_id] = run
        for school, (roster, status) in after.items():
            old_roster, old_status = before.get(school, (SchoolRoster(school), SchoolStatus()))
            if status.state is SyncState.ON_HOLD and (
                old_status.state is not SyncState.ON_HOLD
                or old_status.hold_kind != status.hold_kind
            ):
                self.tally.hold_entries += 1
            run = by_school.get(school)
            new = truth.get(school) if truth else None
            if school in self.reviewed:
                new, mid_fetch = self.reviewed[school], None
            self.check_school(school, roster, status, old_roster, run, new, mid_fetch)

    def check_school(self, school, roster, status, old, run, new, mid_fetch) -> None:
        def violation(text: str) -> None:
            what = "; ".join(self.events)
            self.tally.violations.append(
                f"run {self.tally.runs} school {school}: {text} [{what}; outcome "
                f"{run.outcome.value if run else None}]"
            )

        if not same(roster, old) and not same(roster, new):
            violation("the roster is neither the previous state nor the source state")
        if run is None:
            if not same(roster, old):
                violation("the roster changed without a run")
            return
        if run.outcome in (Outcome.APPLIED, Outcome.UNCHANGED):
            if mid_fetch is None and new is not None and not same(roster, new):
                violation(f"{run.outcome.value} but the roster is not the source state")
            if status.state is not SyncState.HEALTHY:
                violation(f"{run.outcome.value} but the state is {status.state.value}")
        elif run.outcome is Outcome.HELD:
            if not same(roster, old):
                violation("held but the roster changed")
            if status.state is not SyncState.ON_HOLD or status.hold_kind is not run.hold_kind:
                violation("held but the school's hold does not match the run")
            if mid_fetch is None and new is not None:
                expected = assess(old, new, self.policy()).hold_kind
                if expected is not run.hold_kind:
                    violation(f"held as {run.hold_kind} but the data calls for {expected}")
        else:
            if not same(roster, old):
                violation("the run failed but the roster changed")
            if status.state not in (SyncState.FAILING, SyncState.ON_HOLD):
                violation(f"the run failed but the state is {status.state.value}")

    def policy(self):
        return districts.get_district(self.services, self.district_id).policy

    def finish(self) -> None:
        """Deliver what is left, then every hold entry must have been sent exactly once."""
        self.mailer.failure_rate = 0.0
        deliver_pending(self.services)
        twice = [key for key, n in self.mailer.sent.items() if n != 1]
        if twice:
            self.tally.violations.append(f"emails sent more than once: {twice}")
        if len(self.mailer.sent) != self.tally.hold_entries:
            self.tally.violations.append(
                f"{self.tally.hold_entries} hold entries but {len(self.mailer.sent)} emails"
            )
        self.store.dispose()
        self.mirror.dispose()


def run_campaign(
    seed: int, runs: int, store_url: str, mirror_url: str, students: int = 240
) -> Tally:
    upgrade_database(store_url)
    upgrade_database(mirror_url)
    state = SandboxState.from_data(generate_district(seed=seed, students=students, schools=3))
    with SandboxServer(state) as server:
        campaign = Campaign(seed, store_url, mirror_url, server)
        for _ in range(runs):
            campaign.run_once()
        campaign.finish()
    return campaign.tally


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--runs", type=int, default=200)
    parser.add_argument("--database-url", default="")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        url = args.database_url or f"sqlite:///{Path(tmp) / 'campaign.db'}"
        mirror = f"sqlite:///{Path(tmp) / 'mirror.db'}"
        tally = run_campaign(args.seed, args.runs, url, mirror)
    for line in tally.violations:
        print(f"violation: {line}")
    print(f"campaign: {tally.runs} runs, {tally.faults} faults, {len(tally.violations)} violations")
    return 1 if tally.violations else 0


if __name__ == "__main__":
    sys.exit(main())
