"""Fixtures for the dashboard and API tests: two sandbox districts over loopback HTTP, a real
SQLite store, three administrators with passwords and API tokens, and the app served by
uvicorn on a free loopback port.

District A (three schools) has a district admin and a school admin of its first school;
district B (one school) has its own district admin. ``shared_web`` is built once per module
for tests that only read or are refused; ``web`` is fresh for tests that change state.
"""

from __future__ import annotations

import re
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest
from argon2 import PasswordHasher

from rostersync.sandbox.generator import generate_district
from rostersync.sandbox.server import SandboxServer
from rostersync.sandbox.state import SandboxState
from rostersync.service import api_tokens, districts
from rostersync.service.auth import Auth
from rostersync.service.context import Services
from rostersync.service.model import SchoolRow
from rostersync.service.sync import sync_district
from rostersync.storage import SqlStore
from rostersync.web.app import WebConfig, create_app
from tests.integration.conftest import RecordingMailer, fast_sources
from tests.web.live_server import LiveServer

# argon2id with the smallest cost: the tests sign in often; production uses the defaults.
CHEAP_HASHER = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)
PASSWORD = "correct horse battery staple"
DISTRICT_ADMIN = "district@alpha.example"
SCHOOL_ADMIN = "school@alpha.example"
OTHER_ADMIN = "district@beta.example"
ROLES = {"district": DISTRICT_ADMIN, "school": SCHOOL_ADMIN, "other": OTHER_ADMIN}
CSRF_RE = re.compile(r'name="csrf_token" value="([^"]+)"')


def csrf_of(html: str) -> str:
    found = CSRF_RE.search(html)
    assert found, "the page has no CSRF token"
    return found.group(1)


@dataclass
class WebEnv:
    services: Services
    store: SqlStore
    auth: Auth
    sandbox: SandboxServer
    other_sandbox: SandboxServer
    district_id: str
    other_district_id: str
    url: str
    tokens: dict[str, str]
    mailer: RecordingMailer
    clients: list[httpx.Client] = field(default_factory=list)

    @property
    def state(self) -> SandboxState:
        return self.sandbox.state

    def schools(self, district_id: str | None = None) -> list[SchoolRow]:
        with self.store.unit_of_work() as uow:
            return uow.list_schools(district_id or self.district_id)

    @property
    def own_school(self) -> SchoolRow:
        """The school the school admin administers (district A's first)."""
        return self.schools()[0]

    @property
    def sibling_school(self) -> SchoolRow:
        """A school of district A the school admin may not see."""
        return self.schools()[1]

    @property
    def other_school(self) -> SchoolRow:
        return self.schools(self.other_district_id)[0]

    def school(self, ref: str) -> SchoolRow:
        with self.store.unit_of_work() as uow:
            found = uow.get_school(ref)
        assert found is not None
        return found

    def sync(self) -> None:
        sync_district(self.services, self.district_id)

    def client(self, **kwargs: object) -> httpx.Client:
        c = httpx.Client(base_url=self.url, timeout=60, **kwargs)  # type: ignore[arg-type]
        self.clients.append(c)
        return c

    def api(self, role: str | None) -> httpx.Client:
        headers = {"Authorization": f"Bearer {self.tokens[role]}"} if role else {}
        return self.client(headers=headers)

    def login(self, email: str, password: str = PASSWORD) -> httpx.Client:
        """A browser-like client signed in as ``email``."""
        browser = self.client()
        token = csrf_of(browser.get("/login").text)
        answer = browser.post(
            "/login", data={"email": email, "password": password, "csrf_token": token}
        )
        assert answer.status_code == 303, answer.text
        return browser


@contextmanager
def _servers(
    reuse: tuple[SandboxServer, SandboxServer] | None,
) -> Iterator[tuple[SandboxServer, SandboxServer]]:
    """Both districts' sandboxes, each serving a fresh district: the given servers with
    their state replaced (no restart), or new servers."""
    alpha = SandboxState.from_data(generate_district(seed=21, students=300, schools=3))
    beta = SandboxState.from_data(generate_district(seed=22, students=60, schools=1))
    if reuse is not None:
        reuse[0].state, reuse[1].state = alpha, beta
        yield reuse
        return
    with SandboxServer(alpha) as sandbox, SandboxServer(beta) as other:
        yield sandbox, other


@contextmanager
def build_env(
    db_path: Path, template: Path, sandboxes: tuple[SandboxServer, SandboxServer] | None = None
) -> Iterator[WebEnv]:
    shutil.copyfile(template, db_path)
    store = SqlStore(f"sqlite:///{db_path}")
    mailer = RecordingMailer()
    services = Services(store=store, sources=fast_sources, mailer=mailer)
    with _servers(sandboxes) as (sandbox, other):
        a = districts.add_district(services, "Alpha USD", sandbox.token, sandbox.base_url)
        b = districts.add_district(services, "Beta USD", other.token, other.base_url)
        sync_district(services, a.id)
        sync_district(services, b.id)
        with store.unit_of_work() as uow:
            first = uow.list_schools(a.id)[0]
        districts.add_admin(services, DISTRICT_ADMIN, a.id)
        districts.add_admin(services, SCHOOL_ADMIN, a.id, [first.id])
        districts.add_admin(services, OTHER_ADMIN, b.id)
        auth = Auth(services, CHEAP_HASHER)
        tokens = {}
        for role, email in ROLES.items():
            auth.set_password(email, PASSWORD)
            tokens[role] = api_tokens.create_token(services, email, f"{role} tests")[1]
        app = create_app(services, WebConfig(secret_key="k" * 48, hasher=CHEAP_HASHER))
        with LiveServer(app) as live:
            env = WebEnv(
                services, store, auth, sandbox, other, a.id, b.id, live.url, tokens, mailer
            )
            try:
                yield env
            finally:
                for c in env.clients:
                    c.close()
    store.dispose()


@pytest.fixture(scope="session")
def sandboxes() -> Iterator[tuple[SandboxServer, SandboxServer]]:
    """Two sandbox servers for the whole session; each test gets fresh districts on them."""
    with _servers(None) as pair:
        yield pair


@pytest.fixture
def web(
    tmp_path: Path,
    sqlite_template: Path,
    sandboxes: tuple[SandboxServer, SandboxServer],
) -> Iterator[WebEnv]:
    """A fresh environment: for tests that change schools, settings or sessions."""
    with build_env(tmp_path / "web.db", sqlite_template, sandboxes) as env:
        yield env


@pytest.fixture(scope="module")
def shared_web(tmp_path_factory: pytest.TempPathFactory, sqlite_template: Path) -> Iterator[WebEnv]:
    """One environment per module: for tests that only read, or whose actions are refused."""
    path = tmp_path_factory.mktemp("web") / "web.db"
    with build_env(path, sqlite_template) as env:
        yield env
