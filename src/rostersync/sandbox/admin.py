"""The sandbox's own control API under ``/_sandbox/``, and ``/oauth/tokens``.

Lets a test or demo running in another process drive the sandbox over HTTP: read its state,
arm and clear faults, apply mutations, read the request log. No bearer token is needed:
this is a local test fixture, never exposed as Clever. ``/oauth/tokens`` mirrors Clever's
token listing with HTTP Basic client credentials (NOTES §1).
"""

from __future__ import annotations

import base64
import binascii
import hmac
from collections.abc import Callable
from typing import Any

import msgspec

from rostersync.sandbox.answer import Answer, error_answer, json_answer
from rostersync.sandbox.state import SandboxState

# The SandboxState methods callable as POST /_sandbox/mutations/<name>.
MUTATIONS: tuple[str, ...] = (
    "remove_share_of_sections",
    "remove_share_of_students",
    "add_contacts",
    "set_contact_types",
    "unshare_school",
    "share_school",
    "revoke_token",
    "restore_token",
    "add_token",
    "set_district_state",
    "set_error_style",
    "move_student",
    "delete_user",
    "upsert_user",
    "delete_section",
    "upsert_section",
    "users_of_school",
)


def handle_admin(state: SandboxState, method: str, path: str, body: bytes) -> Answer:
    """Answer one request under ``/_sandbox/``."""
    route = path[len("/_sandbox/") :].strip("/")
    try:
        args = _json_args(body) if method == "POST" else {}
        if route == "state" and method == "GET":
            return json_answer(state.summary())
        if route == "faults":
            return _faults(state, method, args)
        if route == "requests":
            return _requests(state, method)
        if route.startswith("mutations/") and method == "POST":
            return _mutation(state, route[len("mutations/") :], args)
    except (KeyError, ValueError, TypeError) as error:
        message = error.args[0] if error.args else str(error)
        return json_answer({"message": str(message)}, 400)
    return json_answer(
        {"message": f"The sandbox admin API has no {method} /_sandbox/{route}."}, 404
    )


def _json_args(body: bytes) -> dict[str, Any]:
    if not body.strip():
        return {}
    try:
        value = msgspec.json.decode(body)
    except msgspec.DecodeError as error:
        raise ValueError(f"The request body is not valid JSON: {error}.") from error
    if not isinstance(value, dict):
        raise ValueError("The request body must be a JSON object of named arguments.")
    return value


def _faults(state: SandboxState, method: str, args: dict[str, Any]) -> Answer:
    if method == "POST":
        args = dict(args)
        if "path" not in args or "kind" not in args:
            raise ValueError("A fault needs a 'path' regular expression and a 'kind'.")
        path, kind = args.pop("path"), args.pop("kind")
        count = int(args.pop("count", 1))
        fault = state.faults.add(str(path), str(kind), count, **args)
        return json_answer({"fault": fault.describe()}, 201)
    if method == "DELETE":
        state.faults.clear()
        return json_answer({"faults": []})
    if method == "GET":
        return json_answer({"faults": state.faults.pending()})
    raise ValueError(f"The faults endpoint does not accept {method}.")


def _requests(state: SandboxState, method: str) -> Answer:
    if method == "DELETE":
        state.request_log.clear()
    log = [
        {"method": m, "path": p, "query": q, "status": s} for m, p, q, s in list(state.request_log)
    ]
    return json_answer({"requests": log})


def _mutation(state: SandboxState, name: str, args: dict[str, Any]) -> Answer:
    if name not in MUTATIONS:
        return json_answer(
            {"message": f"Unknown mutation {name!r}; use one of {list(MUTATIONS)}."}, 404
        )
    method: Callable[..., Any] = getattr(state, name)
    if name in ("upsert_user", "upsert_section") and "record" not in args:
        args = {"record": args}
    return json_answer({"result": method(**args)})


def handle_tokens(state: SandboxState, authorization: str | None, params: dict[str, str]) -> Answer:
    """``GET /oauth/tokens?owner_type=district[&district=ID]`` with HTTP Basic credentials."""
    if not _basic_ok(state, authorization):
        return error_answer(401, "The client id and secret were not accepted.", state.error_style)
    if params.get("owner_type") != "district":
        return error_answer(400, "The owner_type parameter must be 'district'.", state.error_style)
    district = params.get("district") or None
    query = "owner_type=district" + (f"&district={district}" if district else "")
    links = [{"rel": "self", "uri": f"/oauth/tokens?{query}"}]
    return json_answer({"data": state.token_records(district), "links": links})


def _basic_ok(state: SandboxState, authorization: str | None) -> bool:
    if not authorization or not authorization.lower().startswith("basic "):
        return False
    try:
        decoded = base64.b64decode(authorization[6:].strip(), validate=True).decode()
    except (binascii.Error, UnicodeDecodeError):
        return False
    client_id, _, secret = decoded.partition(":")
    return hmac.compare_digest(client_id, state.client_id) and hmac.compare_digest(
        secret, state.client_secret
    )
