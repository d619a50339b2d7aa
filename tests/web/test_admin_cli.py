"""The CLI side of access: ``admin add --password-stdin``, ``admin password``, invite links,
and ``admin token create | list | revoke``, against the same database the server uses."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from rostersync.cli.main import app
from tests.web.conftest import OTHER_ADMIN, WebEnv, csrf_of
from tests.web.test_api_access import assert_problem


@pytest.fixture
def cli(web: WebEnv):
    runner = CliRunner()
    url = str(web.store.engine.url)
    env = {
        "ROSTERSYNC_DATABASE_URL": url,
        "ROSTERSYNC_EMAIL_BACKEND": "console",
        "ROSTERSYNC_PUBLIC_URL": web.url,
    }

    def run(*args: str, code: int = 0, stdin: str | None = None) -> str:
        result = runner.invoke(app, list(args), env=env, input=stdin)
        assert result.exit_code == code, (args, result.output, result.exception)
        return result.stdout

    return run


def test_admin_add_with_password_stdin_can_sign_in(web: WebEnv, cli) -> None:
    cli(
        "admin",
        "add",
        "--email",
        "new@alpha.example",
        "--district",
        web.district_id,
        "--password-stdin",
        stdin="a long enough secret\n",
    )
    web.login("new@alpha.example", "a long enough secret")
    short = cli(
        "admin",
        "add",
        "--email",
        "short@alpha.example",
        "--district",
        web.district_id,
        "--password-stdin",
        "--json",
        code=1,
        stdin="short\n",
    )
    assert "too short" in json.loads(short)["error"]["message"]
    with web.store.unit_of_work() as uow:
        assert uow.admins_by_email("short@alpha.example") == []


def test_admin_password_changes_the_password(web: WebEnv, cli) -> None:
    cli("admin", "password", "--email", OTHER_ADMIN, stdin="another fine password\n")
    web.login(OTHER_ADMIN, "another fine password")
    cli("admin", "password", "--email", "nobody@x.example", code=1, stdin="another password\n")


def test_invite_link_sets_a_password_once(web: WebEnv, cli) -> None:
    cli("admin", "add", "--email", "invited@alpha.example", "--district", web.district_id)
    link = json.loads(cli("admin", "invite", "--email", "invited@alpha.example", "--json"))["link"]
    assert link.startswith(f"{web.url}/invite/")
    path = link.removeprefix(web.url)
    browser = web.client()
    page = browser.get(path)
    assert page.status_code == 200
    assert "invited@alpha.example" in page.text
    mismatch = browser.post(
        path,
        data={
            "password": "the first password",
            "password_again": "the other password",
            "csrf_token": csrf_of(page.text),
        },
    )
    assert mismatch.status_code == 422
    done = browser.post(
        path,
        data={
            "password": "the first password",
            "password_again": "the first password",
            "csrf_token": csrf_of(page.text),
        },
    )
    assert (done.status_code, done.headers["location"]) == (303, "/schools")
    assert browser.get("/schools").status_code == 200
    assert web.client().get(path).status_code == 404
    web.login("invited@alpha.example", "the first password")
    cli("admin", "invite", "--email", "nobody@alpha.example", code=1)


def test_token_create_list_and_revoke(web: WebEnv, cli) -> None:
    created = json.loads(
        cli("admin", "token", "create", "--email", OTHER_ADMIN, "--label", "ci", "--json")
    )
    api = web.client(headers={"Authorization": f"Bearer {created['token']}"})
    assert api.get("/api/v1/schools").status_code == 200
    listed = json.loads(cli("admin", "token", "list", "--email", OTHER_ADMIN, "--json"))
    assert created["id"] in {t["id"] for t in listed["tokens"]}
    assert created["token"] not in json.dumps(listed)
    cli("admin", "token", "revoke", created["id"], "--email", OTHER_ADMIN)
    assert_problem(api.get("/api/v1/schools"), 401)
    cli("admin", "token", "revoke", created["id"], "--email", OTHER_ADMIN, code=1)
