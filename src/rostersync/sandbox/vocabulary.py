"""Words the district generator draws from: names, places, subjects, titles.

Names deliberately mix non-ASCII letters (José, Zoë, Nguyễn, Øyvind) so every consumer of
sandbox data is exercised on real-world text, and emails are derived by folding them to ASCII
the way SIS exports usually do.
"""

from __future__ import annotations

import unicodedata
from functools import lru_cache


def _words(text: str) -> tuple[str, ...]:
    """Split a ``|``-separated word list (names may contain spaces)."""
    return tuple(text.split("|"))


FIRST_NAMES: tuple[str, ...] = _words(
    "José|Zoë|Øyvind|Chloé|Renée|Björn|Siobhán|Łukasz|Ngọc|Aarav|Amélie|Mía|Noël|Søren|"
    "Zoé|Ana|Liam|Olivia|Noah|Emma|Mateo|Sofía|Lucas|Isabella|Elijah|Aaliyah|Kenji|Yuki|"
    "Priya|Arjun|Fatima|Omar|Chen|Mei|Dmitri|Anastasia|Kwame|Amara|Diego|Camila|Hannah|"
    "Jack|Grace|Henry|Ava|Leo|Maya|Ethan|Nora|Gabriel|Lucía|Thảo|Minh|François|Inés|"
    "Jürgen|Ayşe|Çağan|Dalia|Tomás|Ewa|Wojciech|Ingrid|Ólafur|Eóin|Jae-won|Seo-yeon"
)

LAST_NAMES: tuple[str, ...] = _words(
    "Nguyễn|Müller|García|Østergaard|Núñez|Peña|Kowalczyk|Lê|Trần|Dvořák|Çelik|Öztürk|"
    "O'Brien|Smith|Johnson|Williams|Brown|Jones|Miller|Davis|Rodríguez|Martínez|"
    "Hernández|López|González|Wilson|Anderson|Thomas|Taylor|Moore|Jackson|Martin|Lee|"
    "Pérez|Thompson|White|Harris|Sánchez|Clark|Ramírez|Lewis|Robinson|Walker|Young|Allen|"
    "King|Wright|Scott|Torres|Hill|Flores|Green|Adams|Baker|Nakamura|Sato|Kim|Park|Patel|"
    "Singh|Haddad|Okafor|Mensah|Lindqvist|Šimić|Ferreira|Fernández|Björklund|"
    "Ó Súilleabháin|Zając"
)

MIDDLE_INITIALS: tuple[str, ...] = ("", "", "", "A", "B", "C", "D", "E", "J", "L", "M", "R", "S")

CITIES: tuple[tuple[str, str, str], ...] = (
    ("Springfield", "IL", "627"),
    ("Riverside", "CA", "925"),
    ("Franklin", "TN", "370"),
    ("Greenville", "SC", "296"),
    ("Fairview", "OR", "970"),
    ("Madison", "WI", "537"),
    ("Georgetown", "TX", "786"),
)

STREETS: tuple[str, ...] = _words(
    "Maple Ave|Oak St|Cedar Ln|Pine Rd|Elm St|Washington Blvd|Lakeview Dr|Hillcrest Rd|"
    "Sunset Blvd|Park Pl|Mill Creek Rd|Rue Saint-Denis|Avenida Peña"
)

SCHOOL_PLACES: tuple[str, ...] = _words(
    "Lincoln|Roosevelt|Jefferson|Sojourner Truth|César Chávez|Maple Grove|Riverside|"
    "Hillcrest|Oakwood|Lakeside|Pioneer|Cedar Ridge|Eastview|Westbrook|Summit|"
    "Valley View|Frida Kahlo|Ellen Ochoa|Sequoyah|Meadowlark"
)

TEACHER_TITLES: tuple[str, ...] = ("Teacher", "Teacher", "Teacher", "Lead Teacher", "Specialist")

STAFF_POSITIONS: tuple[tuple[str, str, str], ...] = (
    ("Counselor", "Student Services", "Counselor"),
    ("Nurse", "Health", "Nurse"),
    ("Librarian", "Library", "Librarian"),
    ("Office Manager", "Administration", "Office Staff"),
    ("Assistant Principal", "Administration", "Administrator"),
    ("Social Worker", "Student Services", "Social Worker"),
    ("Technology Coordinator", "Technology", "IT Staff"),
)

RACES: tuple[str, ...] = (
    "Caucasian",
    "Asian",
    "Black or African American",
    "American Indian",
    "Hawaiian or Other Pacific Islander",
    "Two or More Races",
    "Unknown",
    "",
)

PHONE_TYPES: tuple[str, ...] = ("Cell", "Cell", "Cell", "Home", "Work", "Other", "")

# Subjects taught per period, by grade band; each one is a value of the spec's enum.
BAND_SUBJECTS: dict[str, tuple[str, ...]] = {
    "elementary": (
        "homeroom/advisory",
        "english/language arts",
        "math",
        "science",
        "arts and music",
    ),
    "middle": ("english/language arts", "math", "science", "social studies", "PE and health"),
    "high": ("english/language arts", "math", "science", "social studies", "language"),
}

SUBJECT_CODES: dict[str, str] = {
    "homeroom/advisory": "HR",
    "english/language arts": "ELA",
    "math": "MTH",
    "science": "SCI",
    "social studies": "SOC",
    "language": "LNG",
    "PE and health": "PE",
    "arts and music": "ART",
}

SUBJECT_NAMES: dict[str, str] = {
    "homeroom/advisory": "Homeroom",
    "english/language arts": "English Language Arts",
    "math": "Mathematics",
    "science": "Science",
    "social studies": "Social Studies",
    "language": "Spanish",
    "PE and health": "Physical Education",
    "arts and music": "Art & Music",
}

# Grade bands a school can serve; grades are the spec's strings.
BANDS: dict[str, tuple[str, ...]] = {
    "k12": ("Kindergarten", *(str(g) for g in range(1, 13))),
    "elementary": ("Kindergarten", "1", "2", "3", "4", "5"),
    "middle": ("6", "7", "8"),
    "high": ("9", "10", "11", "12"),
}

BAND_NAMES: dict[str, str] = {
    "k12": "K-12 School",
    "elementary": "Elementary School",
    "middle": "Middle School",
    "high": "High School",
}

# (relationship, type, weight) of a family's first contact and of the others. Emergency and
# Secondary are absent on purpose: they trigger the product's data_configuration hold, which
# tests add through mutations.
FIRST_CONTACT_KINDS: tuple[tuple[str, str, int], ...] = (
    ("Parent", "Parent/Guardian", 80),
    ("Parent", "Primary", 15),
    ("Grandparent", "Parent/Guardian", 3),
    ("Other", "Parent/Guardian", 2),
)
OTHER_CONTACT_KINDS: tuple[tuple[str, str, int], ...] = (
    ("Parent", "Parent/Guardian", 45),
    ("Parent", "", 4),
    ("Grandparent", "Family", 14),
    ("Aunt/Uncle", "Family", 10),
    ("Sibling", "Family", 6),
    ("Other", "Other", 8),
    ("Other", "", 3),
    ("", "", 5),
    ("Self", "Primary", 1),
    ("Aunt/Uncle", "Other", 4),
)

_FOLD = str.maketrans(
    {"Ø": "O", "ø": "o", "Ł": "L", "ł": "l", "ß": "ss", "Æ": "AE", "æ": "ae", "đ": "d", "Đ": "D"}
)


@lru_cache(maxsize=4096)
def ascii_fold(text: str) -> str:
    """Fold a name to lowercase ASCII letters for an email local part (``Nguyễn`` → ``nguyen``)."""
    decomposed = unicodedata.normalize("NFKD", text.translate(_FOLD))
    return "".join(ch for ch in decomposed if ch.isascii() and ch.isalnum()).lower()
