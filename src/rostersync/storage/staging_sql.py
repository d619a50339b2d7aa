"""The SQL of the staging file (``storage.staging``), kept apart from the code that runs it.

Two databases: ``main`` holds the district's users and sections as the last complete fetch
gave them (a temporary file, or the district's fetch cache kept between syncs); ``f``,
attached, holds what only this fetch needs (its row problems, and the bookkeeping of the
merge) and is always a temporary file.
"""

from __future__ import annotations

# Bump when what is stored per user or section changes (its placement rules, the hash): a
# cache of another version is thrown away and rebuilt by a full fetch.
CACHE_VERSION = "10"

USER_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS users (id TEXT PRIMARY KEY, h INTEGER NOT NULL,
                                  student INTEGER NOT NULL, placed INTEGER NOT NULL,
                                  flagged INTEGER NOT NULL, blob BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS direct (school TEXT NOT NULL, user_id TEXT NOT NULL,
                                   roles INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS contact_students (contact TEXT NOT NULL, student TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS user_digests (school TEXT NOT NULL, kind INTEGER NOT NULL,
                                         n INTEGER NOT NULL, low INTEGER NOT NULL,
                                         high INTEGER NOT NULL,
                                         PRIMARY KEY (school, kind)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS unknown (contact TEXT NOT NULL, student TEXT NOT NULL,
                                    link INTEGER NOT NULL,
                                    PRIMARY KEY (contact, link)) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS ix_unknown_student ON unknown (student);
CREATE TABLE IF NOT EXISTS sections (chunk INTEGER NOT NULL, school TEXT NOT NULL,
                                     id TEXT NOT NULL, h INTEGER NOT NULL, blob BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS section_chunks (id INTEGER PRIMARY KEY, digest TEXT NOT NULL,
                                           size INTEGER NOT NULL, first_id TEXT NOT NULL,
                                           last_id TEXT NOT NULL, whole INTEGER NOT NULL);
CREATE INDEX IF NOT EXISTS ix_section_chunks_digest ON section_chunks (digest);
CREATE INDEX IF NOT EXISTS ix_section_chunks_first ON section_chunks (first_id);
CREATE TABLE IF NOT EXISTS section_pages (first_id TEXT PRIMARY KEY, last_id TEXT NOT NULL,
                                          size INTEGER NOT NULL, digest BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS section_digests (school TEXT PRIMARY KEY, n INTEGER NOT NULL,
                                            low INTEGER NOT NULL,
                                            high INTEGER NOT NULL) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS school_checks (school TEXT PRIMARY KEY, digest TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS pages (first_id TEXT PRIMARY KEY, last_id TEXT NOT NULL,
                                  size INTEGER NOT NULL, digest BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS chunks (digest TEXT PRIMARY KEY, size INTEGER NOT NULL,
                                   first_id TEXT NOT NULL, last_id TEXT NOT NULL) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS ix_chunks_first ON chunks (first_id, size, last_id);
"""
# Made after the first load of a file (faster than maintaining them row by row), then kept.
# The reads by school and the digests need these (``ix_users_h``: see below); a kept cache
# also needs the merge's: the ``_user`` and ``_contact`` ones find a changed user's previous
# rows, and ``ix_sections_chunk`` the sections of a chunk.
READ_INDEXES = """
CREATE INDEX IF NOT EXISTS ix_users_unplaced ON users (id) WHERE NOT placed;
CREATE INDEX IF NOT EXISTS ix_users_flagged ON users (id) WHERE flagged;
CREATE INDEX IF NOT EXISTS ix_direct ON direct (school, user_id, roles);
CREATE INDEX IF NOT EXISTS ix_contact_students ON contact_students (student);
CREATE INDEX IF NOT EXISTS ix_sections_school ON sections (school, id);
CREATE INDEX IF NOT EXISTS ix_users_h ON users (id, h, student);
"""
# ``ix_users_h`` (above) holds what the digests and a merge look a stored user up for (its
# hash, whether a student), so those lookups read the index alone: SQLite picks the key's
# own index otherwise, then the user's row, a page of the table for each (the statements
# name it with INDEXED BY; a 1 % resync at R1M read about 1.5 GB of the file that way).
MERGE_INDEXES = """
CREATE INDEX IF NOT EXISTS ix_direct_user ON direct (user_id);
CREATE INDEX IF NOT EXISTS ix_contact_students_contact ON contact_students (contact);
CREATE INDEX IF NOT EXISTS ix_sections_chunk ON sections (chunk);
"""
FETCH_SCHEMA = """
CREATE TABLE f.problems (seq INTEGER PRIMARY KEY, school TEXT NOT NULL, blob BLOB NOT NULL);
CREATE TABLE f.changed (id TEXT PRIMARY KEY) WITHOUT ROWID;
CREATE TABLE f.gone (id TEXT PRIMARY KEY) WITHOUT ROWID;
CREATE TABLE f.old_h (id TEXT PRIMARY KEY, h INTEGER NOT NULL) WITHOUT ROWID;
CREATE TABLE f.chunks (digest TEXT NOT NULL, size INTEGER NOT NULL, first_id TEXT NOT NULL,
                       last_id TEXT NOT NULL);
CREATE TABLE f.digest_delta (school TEXT NOT NULL, kind INTEGER NOT NULL, n INTEGER NOT NULL,
                             low INTEGER NOT NULL, high INTEGER NOT NULL);
CREATE TABLE f.old_direct (school TEXT NOT NULL, user_id TEXT NOT NULL, roles INTEGER NOT NULL);
CREATE TABLE f.old_contacts (contact TEXT NOT NULL, student TEXT NOT NULL);
CREATE TABLE f.ch (id TEXT PRIMARY KEY) WITHOUT ROWID;
CREATE TABLE f.changed_sections (school TEXT NOT NULL, id TEXT NOT NULL,
                                 PRIMARY KEY (school, id)) WITHOUT ROWID;
CREATE TABLE f.kept_chunks (id INTEGER PRIMARY KEY);
CREATE TABLE f.gone_chunks (id INTEGER PRIMARY KEY);
CREATE TABLE f.old_sections (school TEXT NOT NULL, id TEXT NOT NULL, h INTEGER NOT NULL,
                             PRIMARY KEY (school, id, h)) WITHOUT ROWID;
CREATE TABLE f.section_delta (school TEXT NOT NULL, n INTEGER NOT NULL, low INTEGER NOT NULL,
                              high INTEGER NOT NULL);
CREATE TABLE f.flagged_in (school TEXT NOT NULL, id TEXT NOT NULL,
                           PRIMARY KEY (school, id)) WITHOUT ROWID;
CREATE TABLE f.ch_students (school TEXT NOT NULL, id TEXT NOT NULL,
                            PRIMARY KEY (school, id)) WITHOUT ROWID;
CREATE TABLE f.scope (school TEXT NOT NULL, id TEXT NOT NULL,
                      PRIMARY KEY (school, id)) WITHOUT ROWID;
"""
FETCH_INDEXES = """
CREATE INDEX f.ix_problems ON problems (school, seq);
"""
INSERTS = {
    "users": "INSERT OR IGNORE INTO users VALUES (?, ?, ?, ?, ?, ?)",
    "direct": "INSERT INTO direct VALUES (?, ?, ?)",
    "contact_students": "INSERT INTO contact_students VALUES (?, ?)",
    "sections": "INSERT INTO sections VALUES (?, ?, ?, ?, ?)",
    "section_chunks": "INSERT INTO section_chunks VALUES (?, ?, ?, ?, ?, ?)",
    "kept_chunks": "INSERT OR IGNORE INTO f.kept_chunks VALUES (?)",
    "section_pages": "INSERT OR REPLACE INTO section_pages VALUES (?, ?, ?, ?)",
    "problems": "INSERT INTO f.problems (school, blob) VALUES (?, ?)",
    "changed": "INSERT OR IGNORE INTO f.changed VALUES (?)",
    "gone": "INSERT OR IGNORE INTO f.gone VALUES (?)",
    "old_h": "INSERT OR IGNORE INTO f.old_h VALUES (?, ?)",
    "pages": "INSERT OR REPLACE INTO pages VALUES (?, ?, ?, ?)",
    "chunks": "INSERT INTO f.chunks VALUES (?, ?, ?, ?)",
}
# The ids are gathered first (a UNION of ids only), then each user read once: a UNION of
# whole rows would sort and compare the blobs too (about a third slower).
SCHOOL_USERS = """
SELECT u.blob FROM users u WHERE u.id IN (
  SELECT user_id FROM direct WHERE school = ?1
  UNION
  SELECT cs.contact FROM direct d JOIN contact_students cs ON cs.student = d.user_id
   WHERE d.school = ?1 AND d.roles & 1
) ORDER BY u.id
"""
# The merge reads the previous fetch's (id, hash) in id order, a window at a time.
WINDOW = "SELECT id, h FROM users WHERE id > ? ORDER BY id LIMIT ?"
PREVIOUS_HASH = "SELECT h FROM users INDEXED BY ix_users_h WHERE id = ?"
NEXT_ID = "SELECT id FROM users INDEXED BY ix_users_h WHERE id > ? ORDER BY id LIMIT 1"
BEYOND = "INSERT OR IGNORE INTO f.gone SELECT id FROM users WHERE id > ?"
GONE_BETWEEN = "INSERT OR IGNORE INTO f.gone SELECT id FROM users WHERE id > ? AND id < ?"

_DROP = (
    "DELETE FROM direct WHERE user_id IN ({ids})",
    "DELETE FROM contact_students WHERE contact IN ({ids})",
    "DELETE FROM users WHERE id IN ({ids})",
)
# A changed or gone user's previous rows, kept for the fetch (``school_scope``, and the
# digests' and unknown students' updates).
_KEEP_OLD = (
    "INSERT INTO f.old_direct SELECT school, user_id, roles FROM direct WHERE user_id IN ({ids})",
    """INSERT INTO f.old_contacts
SELECT contact, student FROM contact_students WHERE contact IN ({ids})""",
)
KEEP_OLD_ONE = tuple(sql.format(ids="?") for sql in _KEEP_OLD)
KEEP_OLD_GONE = (
    *(sql.format(ids="SELECT id FROM f.gone") for sql in _KEEP_OLD),
    "INSERT OR IGNORE INTO f.old_h SELECT id, h FROM users INDEXED BY ix_users_h"
    " WHERE id IN (SELECT id FROM f.gone)",
)
DROP_ONE = tuple(sql.format(ids="?") for sql in _DROP)
DROP_GONE = tuple(sql.format(ids="SELECT id FROM f.gone") for sql in _DROP)

# Per school: how many staged inputs it has and two 31-bit sums of their hashes, an
# order-free digest of the multiset computed inside SQLite (no Python per row). Each kind
# (0 direct users, 1 contacts through its students, 2 sections) is summed on its own.
# Written out in full for every school, then again for the touched schools only.
ALL_USER_DIGESTS = (
    """INSERT INTO user_digests
SELECT d.school, 0, count(*), sum(u.h & 2147483647), sum((u.h >> 31) & 2147483647)
  FROM direct d JOIN users u INDEXED BY ix_users_h ON u.id = d.user_id
 GROUP BY d.school""",
    """INSERT INTO user_digests
SELECT d.school, 1, count(*), sum(u.h & 2147483647), sum((u.h >> 31) & 2147483647)
  FROM direct d
  JOIN contact_students cs ON cs.student = d.user_id
  JOIN users u INDEXED BY ix_users_h ON u.id = cs.contact
 WHERE d.roles & 1
 GROUP BY d.school""",
)
# After a merge, the digests move by what the changed and gone users added and took away
# (``f.old_direct``, ``f.old_contacts`` and ``f.old_h`` hold their previous rows and hashes):
# each kind's pairs that involve such a user, now (+) and before (-), summed per school. The
# sums are exact, so this equals summing every school again (a property test pins it).
DIGEST_CHANGES = (
    # direct: the changed users' rows now, and the changed and gone users' rows before
    """INSERT INTO f.digest_delta
SELECT d.school, 0, 1, u.h & 2147483647, (u.h >> 31) & 2147483647
  FROM f.changed c CROSS JOIN direct d ON d.user_id = c.id
 CROSS JOIN users u INDEXED BY ix_users_h ON u.id = c.id""",
    """INSERT INTO f.digest_delta
SELECT od.school, 0, -1, -(o.h & 2147483647), -((o.h >> 31) & 2147483647)
  FROM f.old_direct od JOIN f.old_h o ON o.id = od.user_id""",
    # contacts now: the changed contacts' links, and the other contacts of changed students
    """INSERT INTO f.digest_delta
SELECT d.school, 1, 1, u.h & 2147483647, (u.h >> 31) & 2147483647
  FROM f.changed c CROSS JOIN contact_students cs ON cs.contact = c.id
 CROSS JOIN direct d ON d.user_id = cs.student
 CROSS JOIN users u INDEXED BY ix_users_h ON u.id = c.id
 WHERE d.roles & 1""",
    """INSERT INTO f.digest_delta
SELECT d.school, 1, 1, u.h & 2147483647, (u.h >> 31) & 2147483647
  FROM f.changed s CROSS JOIN direct d ON d.user_id = s.id
 CROSS JOIN contact_students cs ON cs.student = s.id
 CROSS JOIN users u INDEXED BY ix_users_h ON u.id = cs.contact
 WHERE d.roles & 1 AND cs.contact NOT IN (SELECT id FROM f.ch)""",
    # contacts before: the changed and gone contacts' links (to students as placed then:
    # changed or gone ones as they were, the others as they are), and the other contacts of
    # changed and gone students
    """INSERT INTO f.digest_delta
SELECT od.school, 1, -1, -(o.h & 2147483647), -((o.h >> 31) & 2147483647) FROM f.old_contacts oc
  JOIN f.old_h o ON o.id = oc.contact JOIN f.old_direct od ON od.user_id = oc.student
 WHERE od.roles & 1""",
    """INSERT INTO f.digest_delta
SELECT d.school, 1, -1, -(o.h & 2147483647), -((o.h >> 31) & 2147483647) FROM f.old_contacts oc
  JOIN f.old_h o ON o.id = oc.contact JOIN direct d ON d.user_id = oc.student
 WHERE d.roles & 1 AND oc.student NOT IN (SELECT id FROM f.ch)""",
    """INSERT INTO f.digest_delta
SELECT od.school, 1, -1, -(u.h & 2147483647), -((u.h >> 31) & 2147483647) FROM f.old_direct od
  CROSS JOIN contact_students cs ON cs.student = od.user_id
  JOIN users u INDEXED BY ix_users_h ON u.id = cs.contact
 WHERE od.roles & 1 AND cs.contact NOT IN (SELECT id FROM f.ch)""",
    """INSERT INTO user_digests (school, kind, n, low, high)
SELECT school, kind, sum(n), sum(low), sum(high) FROM f.digest_delta WHERE true
 GROUP BY school, kind
ON CONFLICT (school, kind) DO UPDATE SET n = n + excluded.n, low = low + excluded.low,
                                         high = high + excluded.high""",
    "DELETE FROM user_digests WHERE n = 0",
)
DIGESTS = """
SELECT school, kind, n, low, high FROM user_digests
UNION ALL
SELECT school, 2, n, low, high FROM section_digests
ORDER BY 1, 2
"""
# Contacts naming a student who is not in the fetch, by contact (a contact's students in
# the order the source listed them, ``link`` being the row id of the link): kept, and found
# whole only on a fresh staging (the scan reads every contact link).
# (Each link's student looked up in the covering index: building the set of every student
# id first, as ``NOT IN`` does, took 1.3-1.8 s at R1M against 0.8.)
FIND_UNKNOWN = (
    "DELETE FROM unknown",
    """INSERT INTO unknown (contact, student, link)
SELECT cs.contact, cs.student, cs.rowid FROM contact_students cs
 WHERE NOT EXISTS (SELECT 1 FROM users u INDEXED BY ix_users_h
                    WHERE u.id = cs.student AND u.student)""",
)
# After a merge, only the links of changed contacts and those naming changed or gone users
# are looked at again. (A changed contact's links are added anew in the order listed, so
# their row ids keep that order.)
UNKNOWN_CHANGES = (
    "DELETE FROM unknown WHERE contact IN (SELECT id FROM f.ch)",
    "DELETE FROM unknown WHERE student IN (SELECT id FROM f.ch)",
    """INSERT OR IGNORE INTO unknown (contact, student, link)
SELECT cs.contact, cs.student, cs.rowid FROM f.changed c
 CROSS JOIN contact_students cs ON cs.contact = c.id
 WHERE NOT EXISTS (SELECT 1 FROM users u INDEXED BY ix_users_h
                   WHERE u.id = cs.student AND u.student)""",
    """INSERT OR IGNORE INTO unknown (contact, student, link)
SELECT cs.contact, cs.student, cs.rowid FROM f.ch s
 CROSS JOIN contact_students cs ON cs.student = s.id
 WHERE NOT EXISTS (SELECT 1 FROM users u INDEXED BY ix_users_h
                   WHERE u.id = cs.student AND u.student)""",
)
UNKNOWN_STUDENTS = "SELECT contact, student FROM unknown ORDER BY contact, link"
UNPLACED = "SELECT blob FROM users WHERE NOT placed ORDER BY id"

# What changed since the previous fetch, for the per-record evaluation (``school_scope``):
# the users changed, added or gone (the sections: ``SECTION_CHANGES``).
CHANGES_KEPT = (
    "INSERT INTO f.ch SELECT id FROM f.changed UNION SELECT id FROM f.gone",
    "CREATE INDEX f.ix_old_direct ON old_direct (user_id)",
)
# The accounts whose rows may differ, per school, found once per fetch from the changed
# users (few) outwards: the changed users placed there before or now, the contacts (now)
# of such students, and the changed contacts whose students (before or now) are there.
SCOPES = (
    """INSERT OR IGNORE INTO f.ch_students
SELECT d.school, d.user_id FROM f.ch c CROSS JOIN direct d ON d.user_id = c.id WHERE d.roles & 1
UNION
SELECT school, user_id FROM f.old_direct WHERE roles & 1""",
    """INSERT OR IGNORE INTO f.scope
SELECT d.school, d.user_id FROM f.ch c CROSS JOIN direct d ON d.user_id = c.id
UNION
SELECT school, user_id FROM f.old_direct
UNION
SELECT s.school, cs.contact FROM f.ch_students s
  CROSS JOIN contact_students cs ON cs.student = s.id
UNION
SELECT d.school, cs.contact FROM f.ch c
  CROSS JOIN contact_students cs ON cs.contact = c.id
  JOIN direct d ON d.user_id = cs.student
 WHERE d.roles & 1
UNION
SELECT d.school, oc.contact FROM f.old_contacts oc JOIN direct d ON d.user_id = oc.student
 WHERE d.roles & 1
UNION
SELECT od.school, oc.contact FROM f.old_contacts oc
  JOIN f.old_direct od ON od.user_id = oc.student
 WHERE od.roles & 1""",
)
SCOPE_ACCOUNTS = "SELECT id FROM f.scope WHERE school = ?"
SCOPE_CLASSES = "SELECT id FROM f.changed_sections WHERE school = ?"
SCHOOL_ROLES = "SELECT user_id, roles FROM direct WHERE school = ?"
# ``SCHOOL_USERS``, only those in a scope (?2, a JSON array of ids) or flagged: each id of
# the scope is looked up among the school's users (from the contact to its students: a
# CROSS JOIN keeps SQLite to that order), and the flagged ones are listed per
# school once per fetch (``FLAGGED_IN``; few users have problems of their own).
SCHOOL_USERS_PART = """
SELECT u.id, u.blob FROM users u WHERE u.id IN (
  SELECT j.value FROM json_each(?2) j
   WHERE EXISTS (SELECT 1 FROM direct d WHERE d.school = ?1 AND d.user_id = j.value)
      OR EXISTS (SELECT 1 FROM contact_students cs CROSS JOIN direct d
                  WHERE cs.contact = j.value AND d.user_id = cs.student AND d.school = ?1
                    AND d.roles & 1)
  UNION
  SELECT id FROM f.flagged_in WHERE school = ?1
) ORDER BY u.id
"""
FLAGGED_IN = """
INSERT OR IGNORE INTO f.flagged_in
SELECT d.school, d.user_id FROM users u INDEXED BY ix_users_flagged
  JOIN direct d ON d.user_id = u.id
 WHERE u.flagged
UNION
SELECT d.school, cs.contact FROM users u INDEXED BY ix_users_flagged
  JOIN contact_students cs ON cs.contact = u.id
  JOIN direct d ON d.user_id = cs.student
 WHERE u.flagged AND d.roles & 1
"""

# The pages of users a fetch staged whole (``SqliteStaging.unchanged_page``): kept only if
# the stored ids from a page's first to its last are exactly its items (an item listed out
# of order elsewhere in the fetch may fall between them).
PAGES = "SELECT first_id, last_id, size, digest FROM pages"
PAGES_CHECKED = """
DELETE FROM pages
 WHERE size != (SELECT count(*) FROM users WHERE id BETWEEN pages.first_id AND pages.last_id)
"""

# Runs of users (chunks) a fetch staged whole, kept for the next fetch like the pages, and
# carried over with a page passed over whole.
KNOWN_CHUNKS = """
SELECT digest, size, first_id, last_id FROM chunks WHERE digest IN (SELECT value FROM json_each(?))
"""
# The chunks starting within a page's ids, from the index alone (it holds the digest too,
# the table's key, as every index of a WITHOUT ROWID table does).
CHUNKS_WITHIN = """
SELECT digest, size, first_id, last_id FROM chunks INDEXED BY ix_chunks_first
 WHERE first_id BETWEEN ? AND ?
"""
CHUNKS_OF_PAGE = """
INSERT INTO f.chunks
SELECT digest, size, first_id, last_id FROM chunks
 WHERE first_id BETWEEN ?1 AND ?2 AND last_id <= ?2
"""
# (Kept in digest order: written into their key's order, the rows cost a third. The index
# by first id is built again after them, sorted once: kept while the rows go in, in an
# order that is not its own, it took each row to a page of its own, about 450 MB of pages
# read and written at R1M.)
CHUNKS_CHECKED = (
    "DROP INDEX IF EXISTS ix_chunks_first",
    "DELETE FROM chunks",
    """INSERT OR REPLACE INTO chunks
SELECT c.digest, c.size, c.first_id, c.last_id FROM f.chunks c
 WHERE c.size = (SELECT count(*) FROM users WHERE id BETWEEN c.first_id AND c.last_id)
 ORDER BY c.digest""",
    "CREATE INDEX ix_chunks_first ON chunks (first_id, size, last_id)",
)

# Sections are staged a chunk at a time (``SqliteStaging.end_section_chunk``), each staged
# row tagged with its chunk's id, ascending over fetches. A chunk or page of sections the
# last fetch staged whole and that comes back the same keeps its rows (``f.kept_chunks``);
# the rows of the previous fetch's other chunks are dropped at the end (?1: the highest
# chunk id before this fetch). Clean chunks (every item a section, without a problem) of a
# fetch never overlap in ids and follow each other in id order, like the pages.
KNOWN_SECTION_CHUNKS = """
SELECT id, digest, size, first_id, last_id FROM section_chunks
 WHERE digest IN (SELECT value FROM json_each(?2)) AND whole AND id <= ?1
"""
SECTION_PAGE_CHUNKS = """
INSERT OR IGNORE INTO f.kept_chunks
SELECT id FROM section_chunks INDEXED BY ix_section_chunks_first
 WHERE first_id BETWEEN ?2 AND ?3 AND last_id <= ?3 AND whole AND id <= ?1
"""
SECTION_PAGES = "SELECT first_id, last_id, size, digest FROM section_pages"
# A page is kept only if the clean chunks within its ids are its items, no more.
SECTION_PAGES_CHECKED = """
DELETE FROM section_pages
 WHERE size != (SELECT coalesce(sum(c.size), 0) FROM section_chunks c
                 WHERE c.first_id BETWEEN section_pages.first_id AND section_pages.last_id
                   AND c.last_id <= section_pages.last_id AND c.whole)
"""
# The sections that changed (``f.changed_sections``: the (school, id) of each (school, id,
# hash) new or gone) and the per-school digests follow the chunks added and dropped: the
# chunks kept hold the same rows before and after.
SECTION_CHANGES = (
    """INSERT INTO f.gone_chunks
SELECT id FROM section_chunks WHERE id <= ?1 AND id NOT IN (SELECT id FROM f.kept_chunks)""",
    """INSERT OR IGNORE INTO f.old_sections
SELECT s.school, s.id, s.h FROM f.gone_chunks g CROSS JOIN sections s ON s.chunk = g.id""",
    """INSERT INTO f.section_delta
SELECT s.school, -count(*), -sum(s.h & 2147483647), -sum((s.h >> 31) & 2147483647)
  FROM f.gone_chunks g CROSS JOIN sections s ON s.chunk = g.id GROUP BY s.school""",
    """INSERT INTO f.section_delta
SELECT school, count(*), sum(h & 2147483647), sum((h >> 31) & 2147483647)
  FROM sections INDEXED BY ix_sections_chunk WHERE chunk > ?1 GROUP BY school""",
    """INSERT INTO section_digests (school, n, low, high)
SELECT school, sum(n), sum(low), sum(high) FROM f.section_delta WHERE true GROUP BY school
ON CONFLICT (school) DO UPDATE SET n = n + excluded.n, low = low + excluded.low,
                                   high = high + excluded.high""",
    "DELETE FROM section_digests WHERE n = 0",
    # new: added rows whose (school, id, hash) no previous row had (the kept and dropped
    # ones are both still there)
    """INSERT OR IGNORE INTO f.changed_sections
SELECT a.school, a.id FROM sections a
 WHERE a.chunk > ?1 AND NOT EXISTS (
   SELECT 1 FROM sections o WHERE o.school = a.school AND o.id = a.id AND o.h = a.h
                              AND o.chunk <= ?1)""",
    "DELETE FROM sections WHERE chunk IN (SELECT id FROM f.gone_chunks)",
    "DELETE FROM section_chunks WHERE id IN (SELECT id FROM f.gone_chunks)",
    # gone: dropped rows whose (school, id, hash) no row has now
    """INSERT OR IGNORE INTO f.changed_sections
SELECT o.school, o.id FROM f.old_sections o
 WHERE NOT EXISTS (SELECT 1 FROM sections s
                    WHERE s.school = o.school AND s.id = o.id AND s.h = o.h)""",
)
ALL_SECTION_DIGESTS = (
    "DELETE FROM section_digests",
    """INSERT INTO section_digests
SELECT school, count(*), sum(h & 2147483647), sum((h >> 31) & 2147483647) FROM sections
 GROUP BY school""",
)
NO_SECTIONS = (
    "DELETE FROM sections",
    "DELETE FROM section_chunks",
    "DELETE FROM section_pages",
    "DELETE FROM section_digests",
)
SCHOOL_SECTIONS = "SELECT blob FROM sections WHERE school = ? ORDER BY id, rowid"
