"""Roster mutations tests and demos apply to a running sandbox district.

Each one changes the records the way a real SIS change would reach Clever (a student leaves
and their contacts lose the link, a class is dropped, a contact is marked ``Emergency``) and
goes through ``DistrictStore.save``/``remove``, so the Events API sees every change.
Selections are deterministic (evenly spaced in id order), so tests can predict them.
"""

from __future__ import annotations

import math
from typing import Any

from rostersync.sandbox.store import DistrictStore, now_stamp

DISTRICT_STATES: tuple[str, ...] = ("running", "pending", "error", "paused", "", "success")


def evenly_spaced(ids: list[str], share: float) -> list[str]:
    """``round(share * len(ids))`` ids spread evenly over ``ids`` (kept in id order)."""
    if not 0.0 <= share <= 1.0:
        raise ValueError(f"The share must be between 0 and 1, not {share}.")
    count = math.floor(share * len(ids) + 0.5)
    if count == 0:
        return []
    step = len(ids) / count
    return [ids[int(i * step)] for i in range(count)]


class RosterMutations(DistrictStore):
    """The mutation methods of ``SandboxState`` (each holds the state's lock)."""

    def users_of_school(self, school_id: str, role: str) -> list[str]:
        """Ids of the school's users with ``role`` (staff, student, teacher or contact)."""
        with self.lock:
            links = self.link_index()
            if role != "contact":
                return list(links.school_members(school_id, role))
            found: set[str] = set()
            for student in links.school_members(school_id, "student"):
                found.update(links.contacts_of.get(student, ()))
            return sorted(found)

    def _require_school(self, school_id: str) -> None:
        self.require("schools", school_id)

    def remove_share_of_sections(self, school_id: str, share: float) -> list[str]:
        """Delete ``share`` of the school's sections; return their ids."""
        with self.lock:
            self._require_school(school_id)
            chosen = evenly_spaced(list(self.section_index().by_school.get(school_id, ())), share)
            for section_id in chosen:
                self.remove("sections", section_id)
            return chosen

    def remove_share_of_students(self, school_id: str, share: float) -> list[str]:
        """Delete ``share`` of the school's students with their enrollments and contact links."""
        with self.lock:
            self._require_school(school_id)
            chosen = evenly_spaced(self.users_of_school(school_id, "student"), share)
            for student_id in chosen:
                self._delete_user(student_id)
            return chosen

    def delete_user(self, user_id: str) -> None:
        """Delete a user, dropping them from sections and from contacts' relationships."""
        with self.lock:
            self._delete_user(user_id)

    def _delete_user(self, user_id: str) -> None:
        self.require("users", user_id)
        for section_id in list(self.section_index().by_member.get(user_id, ())):
            section = self.require("sections", section_id)
            _drop_member(section, user_id)
            self.save("sections", section)
        for contact_id in list(self.link_index().contacts_of.get(user_id, ())):
            self._drop_relationships(contact_id, user_id)
        self.remove("users", user_id)

    def _drop_relationships(self, contact_id: str, student_id: str) -> None:
        contact = self.require("users", contact_id)
        role = contact["roles"]["contact"]
        links = [
            link
            for link in role.get("student_relationships") or []
            if link.get("student") != student_id
        ]
        role["student_relationships"] = links
        if links:
            self.save("users", contact)
        elif len([value for value in contact["roles"].values() if value is not None]) > 1:
            del contact["roles"]["contact"]
            self.save("users", contact)
        else:
            self.remove("users", contact_id)

    def add_contacts(
        self,
        student_id: str,
        n: int,
        type: str = "Parent/Guardian",
        relationship: str = "Parent",
    ) -> list[str]:
        """Create ``n`` new contacts of one student; return their ids."""
        with self.lock:
            student = self.require("users", student_id)
            if not student.get("roles", {}).get("student"):
                raise ValueError(f"The user {student_id!r} is not a student.")
            family = (student.get("name") or {}).get("last") or "Family"
            created = []
            for number in range(1, n + 1):
                contact_id = self.new_id()
                record: dict[str, Any] = {
                    "id": contact_id,
                    "district": self.district_id,
                    "email": f"added.contact.{contact_id[-8:]}@example.com",
                    "name": {"last": f"Added Contact {number} {family}"},
                    "roles": {
                        "contact": {
                            "phone": "",
                            "phone_type": "Cell",
                            "sis_id": f"PX{contact_id[-8:]}",
                            "student_relationships": [
                                {"relationship": relationship, "student": student_id, "type": type}
                            ],
                        }
                    },
                }
                self.save("users", record)
                created.append(contact_id)
            return created

    def set_contact_types(self, school_id: str, type: str, count: int = 1) -> list[str]:
        """Set the ``type`` of ``count`` relationships to the school's students; return contacts."""
        with self.lock:
            self._require_school(school_id)
            students = set(self.users_of_school(school_id, "student"))
            changed: list[str] = []
            remaining = count
            for contact_id in self.users_of_school(school_id, "contact"):
                if remaining <= 0:
                    break
                contact = self.require("users", contact_id)
                touched = False
                for link in contact["roles"]["contact"].get("student_relationships") or []:
                    if (
                        remaining > 0
                        and link.get("student") in students
                        and link.get("type") != type
                    ):
                        link["type"] = type
                        remaining -= 1
                        touched = True
                if touched:
                    self.save("users", contact)
                    changed.append(contact_id)
            return changed

    def unshare_school(self, school_id: str) -> list[str]:
        """Stop sharing a school: it and the records only it holds vanish; return their ids."""
        with self.lock:
            self._require_school(school_id)
            return self._change_share(school_id, share=False)

    def share_school(self, school_id: str) -> list[str]:
        """Share a school again; return the ids that reappear."""
        with self.lock:
            self._require_school(school_id)
            return self._change_share(school_id, share=True)

    def _change_share(self, school_id: str, share: bool) -> list[str]:
        before = self.hidden()
        if share:
            self.unshared.discard(school_id)
        else:
            self.unshared.add(school_id)
        self._hidden = None
        after = self.hidden()
        changed = sorted(before - after) if share else sorted(after - before)
        action = "created" if share else "deleted"
        for record_id in changed:
            for kind in ("schools", "sections", "users"):
                record = self.record(kind, record_id)
                if record is not None:
                    schools = self.schools_of_record(kind, record)
                    self._log(f"{kind}.{action}", record, None, schools)
                    break
        return changed

    def set_district_state(self, state: str, error: str = "") -> None:
        """Set the district's sync ``state`` (one of the spec's values) and ``error`` text."""
        if state not in DISTRICT_STATES:
            raise ValueError(f"The district state must be one of {DISTRICT_STATES}, not {state!r}.")
        with self.lock:
            district = self.district()
            district["state"] = state
            district["error"] = error
            self.save_district(district)

    def upsert_user(self, record: dict[str, Any]) -> str:
        """Create (a new id when ``id`` is missing) or replace a user; return its id."""
        with self.lock:
            return self._upsert("users", record)

    def upsert_section(self, record: dict[str, Any]) -> str:
        """Create (a new id when ``id`` is missing) or replace a section; return its id."""
        with self.lock:
            return self._upsert("sections", record)

    def _upsert(self, kind: str, record: dict[str, Any]) -> str:
        copy = dict(record)
        if not copy.get("id"):
            copy = {"id": self.new_id(), **{k: v for k, v in copy.items() if k != "id"}}
        self.save(kind, copy)
        return str(copy["id"])

    def delete_section(self, section_id: str) -> None:
        """Delete a section (its enrollments go with it)."""
        with self.lock:
            if self.remove("sections", section_id) is None:
                raise KeyError(f"The sandbox district has no section with id {section_id!r}.")

    def move_student(self, student_id: str, to_school_id: str) -> list[str]:
        """Move a student to another school, re-enrolling them in as many of its sections.

        Returns the ids of the sections the student now attends.
        """
        with self.lock:
            self._require_school(to_school_id)
            user = self.require("users", student_id)
            role = user.get("roles", {}).get("student")
            if not role:
                raise ValueError(f"The user {student_id!r} is not a student.")
            role["school"] = to_school_id
            role["schools"] = [to_school_id]
            role["enrollments"] = [{"school": to_school_id, "start_date": now_stamp()}]
            self.save("users", user)
            old_sections = [
                section_id
                for section_id in self.section_index().by_member.get(student_id, ())
                if student_id in (self.require("sections", section_id).get("students") or [])
            ]
            for section_id in old_sections:
                section = self.require("sections", section_id)
                _drop_member(section, student_id)
                self.save("sections", section)
            targets = self._sections_to_join(
                to_school_id, str(role.get("grade", "")), len(old_sections)
            )
            for section_id in targets:
                section = self.require("sections", section_id)
                section["students"] = sorted({*(section.get("students") or []), student_id})
                self.save("sections", section)
            return targets

    def _sections_to_join(self, school_id: str, grade: str, count: int) -> list[str]:
        """Up to ``count`` sections of the school, same grade first, one per subject first."""
        candidates = [
            self.require("sections", section_id)
            for section_id in self.section_index().by_school.get(school_id, ())
        ]
        same_grade = [section for section in candidates if section.get("grade") == grade]
        pool = same_grade or candidates
        pool.sort(key=lambda section: (len(section.get("students") or []), section["id"]))
        chosen: list[str] = []
        subjects: set[str] = set()
        for section in pool:
            if len(chosen) < count and section.get("subject") not in subjects:
                chosen.append(section["id"])
                subjects.add(str(section.get("subject")))
        for section in pool:
            if len(chosen) < count and section["id"] not in chosen:
                chosen.append(section["id"])
        return sorted(chosen)


def _drop_member(section: dict[str, Any], user_id: str) -> None:
    """Remove a user from a section's students and teachers (and primary teacher)."""
    if user_id in (section.get("students") or []):
        section["students"] = [sid for sid in section["students"] if sid != user_id]
    if user_id in (section.get("teachers") or []):
        section["teachers"] = [tid for tid in section["teachers"] if tid != user_id]
    if section.get("teacher") == user_id:
        remaining = section.get("teachers") or []
        section["teacher"] = remaining[0] if remaining else None
