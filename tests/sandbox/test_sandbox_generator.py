"""The district generator: deterministic bytes, realistic distributions, consistent references."""

from __future__ import annotations

import hashlib
import json
import re
import statistics
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from rostersync.domain.records import RELATIONSHIP_TYPES, RELATIONSHIPS
from rostersync.sandbox.district import TABLE_KINDS, DistrictData
from rostersync.sandbox.generator import (
    generate_district,
    generate_to_dir,
    load_district,
    write_district,
)
from rostersync.sandbox.state import SandboxState

SUBJECTS = {
    "english/language arts", "math", "science", "social studies", "language",
    "homeroom/advisory", "interventions/online learning", "technology and engineering",
    "PE and health", "arts and music", "other", "",
}  # fmt: skip
HEX24 = re.compile(r"^[0-9a-f]{24}$")


def _hashes(folder: Path) -> dict[str, str]:
    return {
        path.name: hashlib.sha256(path.read_bytes()).hexdigest()
        for path in sorted(folder.iterdir())
    }


def _records(data: DistrictData, kind: str) -> list[dict[str, Any]]:
    return [json.loads(blob) for blob in data.tables[kind].blobs]


@pytest.fixture(scope="module")
def big() -> DistrictData:
    return generate_district(seed=2024, students=2000)


def test_same_seed_gives_byte_identical_files(tmp_path: Path) -> None:
    generate_to_dir(5, 700, tmp_path / "a", schools=3)
    generate_to_dir(5, 700, tmp_path / "b", schools=3)
    write_district(generate_district(5, 700, schools=3), tmp_path / "c")

    hashes = _hashes(tmp_path / "a")
    assert set(hashes) == {
        "district.json", "sandbox.json", "schools.jsonl", "users.jsonl",
        "sections.jsonl", "terms.jsonl", "courses.jsonl",
    }  # fmt: skip
    assert hashes == _hashes(tmp_path / "b") == _hashes(tmp_path / "c")


def test_another_seed_gives_another_district(tmp_path: Path) -> None:
    generate_to_dir(5, 300, tmp_path / "a")
    generate_to_dir(6, 300, tmp_path / "b")

    assert _hashes(tmp_path / "a")["users.jsonl"] != _hashes(tmp_path / "b")["users.jsonl"]


def test_written_districts_load_back_identically(tmp_path: Path) -> None:
    data = generate_district(9, 400)
    write_district(data, tmp_path)

    loaded = load_district(tmp_path)

    assert loaded.district == data.district
    assert loaded.token == data.token
    assert re.fullmatch(r"[0-9a-f]{40}", loaded.token)
    assert loaded.meta == {"seed": 9, "students": 400, "schools": 1}
    for kind in TABLE_KINDS:
        assert loaded.tables[kind].ids == data.tables[kind].ids
        assert loaded.tables[kind].blobs == data.tables[kind].blobs


def test_a_hand_written_district_loads_in_id_order(tmp_path: Path) -> None:
    (tmp_path / "district.json").write_text('{\n  "id": "d1", "name": "Hand Made"\n}\n')
    (tmp_path / "users.jsonl").write_text('{"id": "u2"}\n\n{"id": "u1"}\n')

    loaded = load_district(tmp_path)

    assert loaded.tables["users"].ids == ["u1", "u2"]
    assert len(loaded.tables["sections"]) == 0
    assert loaded.district_id == "d1"
    assert len(loaded.token) == 40


def test_a_broken_line_is_reported_with_its_line_number(tmp_path: Path) -> None:
    (tmp_path / "district.json").write_text('{"id": "d1"}')
    (tmp_path / "users.jsonl").write_text('{"id": "u1"}\n{"id": \n')

    with pytest.raises(ValueError, match=r"users\.jsonl, line 2"):
        load_district(tmp_path)


def test_school_count_defaults_to_one_per_500_students() -> None:
    assert generate_district(1, 2000).counts()["schools"] == 4
    assert generate_district(1, 100).counts()["schools"] == 1
    assert generate_district(1, 100, schools=3).counts()["schools"] == 3


def test_ids_are_24_hex_ascending_and_unique_across_tables(big: DistrictData) -> None:
    every: list[str] = [big.district_id]
    for kind in TABLE_KINDS:
        ids = big.tables[kind].ids
        assert ids == sorted(ids)
        assert all(HEX24.match(value) for value in ids)
        every.extend(ids)
    assert len(every) == len(set(every))


def test_contacts_per_student_are_about_two_and_never_six(big: DistrictData) -> None:
    users = _records(big, "users")
    per_student: Counter[str] = Counter()
    shared = 0
    for user in users:
        links = user["roles"].get("contact", {}).get("student_relationships", [])
        per_student.update({link["student"] for link in links})
        shared += len(links) >= 2
    students = [u["id"] for u in users if "student" in u["roles"]]

    counts = [per_student[student] for student in students]
    assert 1.9 <= statistics.mean(counts) <= 2.8
    assert min(counts) >= 1
    assert max(counts) <= 5
    assert shared > 0


def test_default_contacts_use_no_hold_triggering_type(big: DistrictData) -> None:
    links = [
        link
        for user in _records(big, "users")
        for link in user["roles"].get("contact", {}).get("student_relationships", [])
    ]
    types = Counter(link["type"] for link in links)
    relationships = Counter(link["relationship"] for link in links)

    assert not {"Emergency", "Secondary"} & set(types)
    assert set(types) <= RELATIONSHIP_TYPES
    assert set(relationships) <= RELATIONSHIPS
    assert len(types) >= 4
    assert len(relationships) >= 6


def test_contacts_carry_their_whole_name_in_last(big: DistrictData) -> None:
    contacts = [u for u in _records(big, "users") if "contact" in u["roles"]]

    assert all(set(contact["name"]) == {"last"} for contact in contacts)
    assert all(" " in contact["name"]["last"] for contact in contacts)


def test_sections_hold_about_22_students_and_students_attend_about_5(big: DistrictData) -> None:
    sections = _records(big, "sections")
    per_student = Counter(s for section in sections for s in section["students"])

    assert 18 <= statistics.mean(len(section["students"]) for section in sections) <= 24
    assert 4.5 <= statistics.mean(per_student.values()) <= 5.5
    assert len(per_student) == 2000


def test_roles_have_realistic_proportions(big: DistrictData) -> None:
    roles = Counter(role for user in _records(big, "users") for role in user["roles"])

    assert roles["student"] == 2000
    assert 13 <= roles["student"] / roles["teacher"] <= 17
    assert roles["staff"] >= big.counts()["schools"]
    assert roles["district_admin"] == 1


def test_every_reference_points_to_an_existing_record(big: DistrictData) -> None:
    users = {u["id"]: u for u in _records(big, "users")}
    schools = set(big.tables["schools"].ids)
    for section in _records(big, "sections"):
        assert section["school"] in schools
        assert section["course"] in big.tables["courses"]
        assert section["term_id"] in big.tables["terms"]
        assert section["teacher"] == section["teachers"][0]
        assert all("teacher" in users[t]["roles"] for t in section["teachers"])
        assert all("student" in users[s]["roles"] for s in section["students"])
        assert section["subject"] in SUBJECTS
    for user in users.values():
        student = user["roles"].get("student")
        if student:
            assert student["school"] in schools
            assert student["schools"] == [student["school"]]
            assert re.fullmatch(r"[1-9][0-9]?/[1-9][0-9]?/[0-9]{4}", student["dob"])
        for link in user["roles"].get("contact", {}).get("student_relationships", []):
            assert "student" in users[link["student"]]["roles"]


def test_names_include_non_ascii_letters(big: DistrictData) -> None:
    names = " ".join(
        " ".join(value for value in user["name"].values()) for user in _records(big, "users")
    )

    assert any(ord(ch) > 127 for ch in names)
    assert all(user.get("email", "").isascii() for user in _records(big, "users"))


def test_the_documented_minimal_district_loads_and_takes_mutations(tmp_path: Path) -> None:
    (tmp_path / "district.json").write_text(
        '{"id": "5f0000000000000000000001", "name": "Tiny District", "state": "success", '
        '"error": ""}'
    )
    (tmp_path / "schools.jsonl").write_text(
        '{"id":"5f0000000000000000000002","district":"5f0000000000000000000001",'
        '"name":"Zoë Nguyễn Elementary","low_grade":"Kindergarten","high_grade":"5"}\n',
        encoding="utf-8",
    )
    (tmp_path / "users.jsonl").write_text(
        '{"id":"5f0000000000000000000010","district":"5f0000000000000000000001",'
        '"name":{"first":"Zoë","last":"Nguyễn"},"roles":{"student":{'
        '"school":"5f0000000000000000000002","schools":["5f0000000000000000000002"],'
        '"grade":"3","dob":"2/11/2016"}}}\n'
        '{"id":"5f0000000000000000000011","district":"5f0000000000000000000001",'
        '"email":"an.nguyen@example.com","name":{"last":"An Nguyễn"},"roles":{"contact":{'
        '"phone":"","phone_type":"Cell","sis_id":"P1","student_relationships":[{'
        '"relationship":"Parent","student":"5f0000000000000000000010",'
        '"type":"Parent/Guardian"}]}}}\n',
        encoding="utf-8",
    )
    state = SandboxState.from_data(load_district(tmp_path))

    new_ids = state.add_contacts("5f0000000000000000000010", 1)

    assert state.users_of_school("5f0000000000000000000002", "contact") == [
        "5f0000000000000000000011",
        *new_ids,
    ]
    assert new_ids[0] == "5f0000000000000000000012"
