"""The district as the sandbox serves it: tables, indexes, sharing, and events on every write.

``DistrictStore`` is the one place records are written. Saving or removing a record
re-encodes only that record, keeps the indexes in step, and appends the matching Events API
event, so mutations built on top never forget an event or an index.
"""

from __future__ import annotations

import threading
from datetime import UTC, datetime
from typing import Any

from rostersync.sandbox.district import (
    TABLE_KINDS,
    DistrictData,
    IdSequence,
    RecordTable,
    decode_record,
    encode_record,
)
from rostersync.sandbox.events import EventLog, previous_attributes
from rostersync.sandbox.indexes import (
    LightSection,
    LightUser,
    LinkIndex,
    RoleIndex,
    SectionIndex,
    section_decoder,
    user_decoder,
)

# Record kinds whose spec shape carries created/last_modified timestamps.
_STAMPED_KINDS = frozenset({"users", "sections", "schools"})
_SCHOOL_ROLES = ("student", "teacher", "staff")


def now_stamp() -> str:
    """The current UTC time the way Clever writes it (``2021-03-02T22:24:53.347Z``)."""
    moment = datetime.now(UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


class DistrictStore:
    """One district's records, its indexes, which schools are shared, and its event feed."""

    def __init__(self, data: DistrictData) -> None:
        self.lock = threading.RLock()
        self.tables: dict[str, RecordTable] = data.tables
        self.district_blob = data.district
        self.district_id = data.district_id
        seen = [self.district_id, *(t.ids[-1] for t in self.tables.values() if t.ids)]
        self.ids = IdSequence.after(seen)
        self.events = EventLog()
        self.unshared: set[str] = set()
        self._roles: RoleIndex | None = None
        self._links: LinkIndex | None = None
        self._sections: SectionIndex | None = None
        self._hidden: frozenset[str] | None = None

    # -- indexes -------------------------------------------------------------------------

    def role_index(self) -> RoleIndex:
        if self._roles is None:
            self._roles = RoleIndex(self.tables["users"].blobs)
        return self._roles

    def link_index(self) -> LinkIndex:
        if self._links is None:
            self._links = LinkIndex(self.tables["users"].blobs)
        return self._links

    def section_index(self) -> SectionIndex:
        if self._sections is None:
            self._sections = SectionIndex(self.tables["sections"].blobs)
        return self._sections

    def _reindex(self, kind: str, old: bytes | None, new: bytes | None) -> None:
        if kind == "users":
            for blob, adding in ((old, False), (new, True)):
                if blob is None:
                    continue
                user = user_decoder.decode(blob)
                for index in (self._roles, self._links):
                    if index is not None:
                        (index.add if adding else index.discard)(user)
        elif kind == "sections" and self._sections is not None:
            if old is not None:
                self._sections.discard(section_decoder.decode(old))
            if new is not None:
                self._sections.add(section_decoder.decode(new))
        self._hidden = None

    # -- reading -------------------------------------------------------------------------

    def record(self, kind: str, record_id: str) -> dict[str, Any] | None:
        """A decoded copy of one record (None when absent), for a mutation to edit."""
        blob = self.tables[kind].get(record_id)
        return None if blob is None else decode_record(blob)

    def require(self, kind: str, record_id: str) -> dict[str, Any]:
        """Like ``record`` but raises ``KeyError`` with a sentence when absent."""
        found = self.record(kind, record_id)
        if found is None:
            raise KeyError(f"The sandbox district has no {kind} record with id {record_id!r}.")
        return found

    def district(self) -> dict[str, Any]:
        return decode_record(self.district_blob)

    def hidden(self) -> frozenset[str]:
        """Ids of every record that unsharing made invisible (empty when all are shared)."""
        if not self.unshared:
            return frozenset()
        if self._hidden is None:
            self._hidden = self._compute_hidden()
        return self._hidden

    def _compute_hidden(self) -> frozenset[str]:
        links, sections = self.link_index(), self.section_index()
        hidden = set(self.unshared)
        for school in self.unshared:
            hidden.update(sections.by_school.get(school, ()))
            for role in _SCHOOL_ROLES:
                for user_id in links.school_members(school, role):
                    user = self.light_user(user_id)
                    if user is not None and set(user.schools()) <= self.unshared:
                        hidden.add(user_id)
        for student in [uid for uid in hidden if uid in links.contacts_of]:
            for contact_id in links.contacts_of[student]:
                contact = self.light_user(contact_id)
                if contact is None or contact.schools():
                    continue  # a teacher or staff member who is also a contact stays by school
                if all(other in hidden for other in contact.students()):
                    hidden.add(contact_id)
        return frozenset(hidden)

    def schools_of_record(self, kind: str, record: dict[str, Any]) -> frozenset[str]:
        """The schools an event about ``record`` concerns (for ``/events?school=``)."""
        if kind == "schools":
            return frozenset({record["id"]})
        if kind == "sections":
            return frozenset({record["school"]} if record.get("school") else ())
        if kind != "users":
            return frozenset()
        user = user_decoder.decode(encode_record(record))
        found = set(user.schools())
        for student in user.students():
            blob = self.tables["users"].get(student)
            if blob is not None:
                found.update(user_decoder.decode(blob).schools())
        return frozenset(found)

    # -- writing -------------------------------------------------------------------------

    def new_id(self) -> str:
        return self.ids.next_id()

    def save(self, kind: str, record: dict[str, Any]) -> bool:
        """Insert or replace a record and log its event; False when nothing changed."""
        if kind not in TABLE_KINDS:
            raise KeyError(f"The sandbox has no record kind {kind!r}; use one of {TABLE_KINDS}.")
        record_id = record.get("id")
        if not isinstance(record_id, str) or not record_id:
            raise ValueError(f"A {kind} record needs a string id.")
        record.setdefault("district", self.district_id)
        table = self.tables[kind]
        old_blob = table.get(record_id)
        old = None if old_blob is None else decode_record(old_blob)
        stamp = now_stamp()
        if kind in _STAMPED_KINDS:
            record.setdefault("created", old.get("created", stamp) if old else stamp)
        if old is not None and not previous_attributes(old, record):
            return False
        if kind in _STAMPED_KINDS:
            record["last_modified"] = stamp
        new_blob = encode_record(record)
        table.put(record_id, new_blob)
        self._reindex(kind, old_blob, new_blob)
        schools = self.schools_of_record(kind, record)
        if old is None:
            self._log(f"{kind}.created", record, None, schools)
        else:
            # An update concerns the schools before and after (a student who moved, a link
            # dropped), so ``/events?school=`` shows it to both.
            schools |= self.schools_of_record(kind, old)
            self._log(f"{kind}.updated", record, previous_attributes(old, record), schools)
        return True

    def remove(self, kind: str, record_id: str) -> dict[str, Any] | None:
        """Delete a record and log ``<kind>.deleted``; return the record, None when absent."""
        table = self.tables[kind]
        blob = table.get(record_id)
        if blob is None:
            return None
        old = decode_record(blob)
        schools = self.schools_of_record(kind, old)
        table.delete(record_id)
        self._reindex(kind, blob, None)
        self._log(f"{kind}.deleted", old, None, schools)
        return old

    def save_district(self, record: dict[str, Any]) -> None:
        """Replace the district record and log ``districts.updated``."""
        old = self.district()
        changes = previous_attributes(old, record)
        if not changes:
            return
        self.district_blob = encode_record(record)
        self._log("districts.updated", record, changes, frozenset())

    def _log(
        self,
        event_type: str,
        record: dict[str, Any],
        previous: dict[str, Any] | None,
        schools: frozenset[str],
    ) -> None:
        self.events.append(self.new_id(), event_type, now_stamp(), record, previous, schools)

    def light_user(self, user_id: str) -> LightUser | None:
        blob = self.tables["users"].get(user_id)
        return None if blob is None else user_decoder.decode(blob)

    def light_section(self, section_id: str) -> LightSection | None:
        blob = self.tables["sections"].get(section_id)
        return None if blob is None else section_decoder.decode(blob)
