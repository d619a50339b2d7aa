"""Turning the domain's values into table rows and JSON text, and back.

A held change set must come back exactly as it was reviewed, so every value it carries is
kept as JSON (an object of its fields) and decoded by its entity into the same value (an
``Account`` named tuple, a frozen dataclass otherwise). Findings and row problems are kept
as rows (they are listed and downloaded one by one on the report); the district-wide part
of a run's problems is kept once per distinct set, under its digest. msgspec encodes and
decodes the values and is fast enough for change sets of hundreds of thousands of rows.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import msgspec

from rostersync.domain.changes import ROLE_ENTITY, Change, Op, Value
from rostersync.domain.policy import Finding, HoldKind, Policy
from rostersync.domain.records import RowProblem, Severity
from rostersync.domain.roster import Account, ClassInfo, LinkInfo

ACCOUNT_ENTITIES: frozenset[str] = frozenset(ROLE_ENTITY.values())

_encoder = msgspec.json.Encoder()


def to_json(value: Any) -> str:
    """Compact JSON text of a value (dataclasses, dicts, lists, tuples, strings, numbers)."""
    return _encoder.encode(value).decode()


def from_json(text: str) -> Any:
    return msgspec.json.decode(text)


def encode_value(value: Value) -> str | None:
    """A change's value as JSON: an object of its fields (an ``Account``, a named tuple,
    too, as it always was kept, rather than msgspec's array)."""
    if value is None:
        return None
    return to_json(value._asdict() if isinstance(value, Account) else value)


def decode_value(entity: str, text: str | None) -> Value:
    """The value a change of ``entity`` carries: Account, ClassInfo, LinkInfo or none."""
    if text is None:
        return None
    if entity in ACCOUNT_ENTITIES:
        return _account(text)
    if entity == "classes":
        return msgspec.json.decode(text, type=ClassInfo)
    if entity == "contact_links":
        return msgspec.json.decode(text, type=LinkInfo)
    return None


def _account(text: str) -> Account:
    """An account from its JSON object (``encode_value``); a field left out takes its
    default. Anything else than an account's fields raises ``msgspec.ValidationError``."""
    fields = msgspec.json.decode(text, type=dict[str, str | tuple[str, ...]])
    roles = fields.pop("roles", ())
    texts = {name: value for name, value in fields.items() if isinstance(value, str)}
    if (
        not isinstance(roles, tuple)
        or len(texts) != len(fields)
        or not texts.keys() <= _ACCOUNT_TEXTS
        or "source_id" not in texts
    ):
        raise msgspec.ValidationError(f"Expected an account's fields, got {text[:200]}")
    return Account(roles=roles, **texts)


_ACCOUNT_TEXTS = frozenset(Account._fields) - {"roles"}


def change_row(run_id: str, seq: int, change: Change) -> dict[str, Any]:
    return {
        "run_id": run_id,
        "seq": seq,
        "entity": change.entity,
        "op": change.op.value,
        "key": to_json(change.key),
        "before": encode_value(change.before),
        "after": encode_value(change.after),
    }


def change_from_row(row: Mapping[Any, Any]) -> Change:
    entity = row["entity"]
    return Change(
        entity=entity,
        op=Op(row["op"]),
        key=tuple(msgspec.json.decode(row["key"], type=list[str])),
        before=decode_value(entity, row["before"]),
        after=decode_value(entity, row["after"]),
    )


def finding_rows(run_id: str, findings: Iterable[Finding]) -> list[dict[str, Any]]:
    return [
        {
            "run_id": run_id,
            "seq": seq,
            "kind": f.kind.value,
            "rule": f.rule,
            "message": f.message,
            "subject": f.subject,
        }
        for seq, f in enumerate(findings)
    ]


def finding_from_row(row: Mapping[Any, Any]) -> Finding:
    return Finding(
        kind=HoldKind(row["kind"]), rule=row["rule"], message=row["message"], subject=row["subject"]
    )


def problem_columns(problem: RowProblem) -> dict[str, Any]:
    """A row problem's stored columns (without its keys)."""
    return {
        "severity": problem.severity.value,
        "entity": problem.entity,
        "source_id": problem.source_id,
        "code": problem.code,
        "message": problem.message,
        "school_id": problem.school_id,
    }


def problem_rows(run_id: str, problems: Iterable[RowProblem]) -> list[dict[str, Any]]:
    return [{"run_id": run_id, "seq": seq, **problem_columns(p)} for seq, p in enumerate(problems)]


def split_problems(
    problems: Sequence[RowProblem],
) -> tuple[tuple[RowProblem, ...], tuple[RowProblem, ...]]:
    """A run's problems as (district-wide, own): the longest leading run with no school id,
    and everything after it, so ``shared + own`` is the input again, order included."""
    cut = next((i for i, p in enumerate(problems) if p.school_id != ""), len(problems))
    return tuple(problems[:cut]), tuple(problems[cut:])


def problem_set_digest(problems: Iterable[RowProblem]) -> str:
    """The content address of a problem set: BLAKE2b-128 (hex) of its values as JSON.

    The encoding is a JSON list of ``[severity, entity, source_id, code, message,
    school_id]`` lists, so equal sets (same problems, same order) get equal digests.
    msgspec encodes the severity as its value; reading ``.value`` in Python would double
    the cost for thousands of problems per run.
    """
    values = [(p.severity, p.entity, p.source_id, p.code, p.message, p.school_id) for p in problems]
    return hashlib.blake2b(_encoder.encode(values), digest_size=16).hexdigest()


def problem_set_rows(digest: str, problems: Iterable[RowProblem]) -> list[dict[str, Any]]:
    return [{"digest": digest, "seq": seq, **problem_columns(p)} for seq, p in enumerate(problems)]


def problem_from_row(row: Mapping[Any, Any]) -> RowProblem:
    return RowProblem(
        severity=Severity(row["severity"]),
        entity=row["entity"],
        source_id=row["source_id"],
        code=row["code"],
        message=row["message"],
        school_id=row["school_id"],
    )


def policy_columns(policy: Policy) -> dict[str, Any]:
    return {
        "removal_pct": policy.removal_pct,
        "removal_min": policy.removal_min,
        "removal_total": policy.removal_total,
        "max_contacts": policy.max_contacts,
        "blocked_contact_types": to_json(sorted(policy.blocked_contact_types)),
        "failures_before_disconnect": policy.failures_before_disconnect,
    }


def policy_from_row(row: Mapping[Any, Any]) -> Policy:
    return Policy(
        removal_pct=float(row["removal_pct"]),
        removal_min=row["removal_min"],
        removal_total=row["removal_total"],
        max_contacts=row["max_contacts"],
        blocked_contact_types=frozenset(
            msgspec.json.decode(row["blocked_contact_types"], type=list[str])
        ),
        failures_before_disconnect=row["failures_before_disconnect"],
    )


def account_columns(account: Account) -> dict[str, Any]:
    """An account's stored columns (without its keys and active flag)."""
    return {
        "roles": ",".join(account.roles),
        "first_name": account.first_name,
        "middle_name": account.middle_name,
        "last_name": account.last_name,
        "email": account.email,
        "sis_id": account.sis_id,
        "number": account.number,
        "grade": account.grade,
        "phone": account.phone,
    }


ACCOUNT_COLUMNS: tuple[str, ...] = tuple(account_columns(Account("", ())).keys())


def account_from_row(row: Mapping[Any, Any]) -> Account:
    roles = row["roles"]
    return Account(
        source_id=row["source_id"],
        roles=tuple(roles.split(",")) if roles else (),
        first_name=row["first_name"],
        middle_name=row["middle_name"],
        last_name=row["last_name"],
        email=row["email"],
        sis_id=row["sis_id"],
        number=row["number"],
        grade=row["grade"],
        phone=row["phone"],
    )


def class_columns(info: ClassInfo) -> dict[str, Any]:
    """A class's stored columns (without its keys and archived flag)."""
    return {
        "name": info.name,
        "subject": info.subject,
        "period": info.period,
        "grade": info.grade,
        "section_number": info.section_number,
        "sis_id": info.sis_id,
        "term": info.term,
        "course": info.course,
    }


CLASS_COLUMNS: tuple[str, ...] = tuple(class_columns(ClassInfo("", "")).keys())


def class_from_row(row: Mapping[Any, Any]) -> ClassInfo:
    return ClassInfo(source_id=row["source_id"], **{c: row[c] for c in CLASS_COLUMNS})
