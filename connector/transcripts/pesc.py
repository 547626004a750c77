"""An issued transcript as a PESC High School Transcript v1.5.0 XML document (pure, lxml).

Transcript services and state systems exchange high school transcripts in this PESC
format. Its root is in the message namespace; every element below it is unqualified,
as PESC's schemas declare them (``elementFormDefault="unqualified"``), with the sector
(AcademicRecord v1.9.0) and core (CoreMain v1.14.0) namespaces declared on the root
for the types. Elements are written in the order the schemas' sequences give.

Courses whose credit is earned by competency (``reports credit``) are ``Course``s with
their Carnegie units offered and earned, each in the ``AcademicSession`` of the school
year it was taken; credit accepted on transfer is in a second ``AcademicRecord`` whose
``School`` is the sending school, as PESC records each school attended. PESC has no
element for a competency. We write each content area as a ``Course`` and each competency as one of its
``Proficiency`` entries (the schema's requirement / attribute / proficiency
structure): ``RAPCode`` the competency's code, ``RAPName`` its statement,
``RAPSubName`` the level reached, ``ConditionsMetCode`` Yes when proficient,
``ConditionsMetDate`` the day it was reached. The explanatory letter's method
sentences are ``NoteMessage``s, so a reader of the XML alone knows what a level means.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, date, datetime

from lxml import etree

from connector.transcripts.build import school_year, school_year_start
from connector.transcripts.model import CreditRow, Transcript, TranscriptSection
from connector.transcripts.pdf import level_text

HSTRN = "urn:org:pesc:message:HighSchoolTranscript:v1.5.0"
ACREC = "urn:org:pesc:sector:AcademicRecord:v1.9.0"
CORE = "urn:org:pesc:core:CoreMain:v1.14.0"
XSI = "http://www.w3.org/2001/XMLSchema-instance"
NSMAP = {"HSTrn": HSTRN, "AcRec": ACREC, "core": CORE, "xsi": XSI}
#: PESC's StudentLevelCode for the grades a K-12 roster uses (OneRoster grade codes).
LEVELS = {"KG": "Kindergarten", "K": "Kindergarten", "PK": "PreKindergarten",
          **{f"{n:02d}": name for n, name in enumerate(
              ("", "FirstGrade", "SecondGrade", "ThirdGrade", "FourthGrade", "FifthGrade",
               "SixthGrade", "SeventhGrade", "EighthGrade", "NinthGrade", "TenthGrade",
               "EleventhGrade", "TwelfthGrade")) if n}}
#: Notes are written in pieces of at most 80 characters: PESC's core schema keeps a
#: NoteMessage short, and no word of the letter is cut (decision 0032).
NOTE_LENGTH = 80


def student_level(grade: str) -> str:
    """PESC's level for a roster grade (``"08"`` -> ``EighthGrade``); ``Ungraded`` otherwise.

    >>> student_level("8"), student_level("KG"), student_level("adult")
    ('EighthGrade', 'Kindergarten', 'Ungraded')
    """
    key = grade.strip().upper()
    if key.isdigit():
        key = f"{int(key):02d}"
    return LEVELS.get(key, "Ungraded")


def session_of(day: date) -> tuple[str, str]:
    """The school year a day falls in, as PESC's ``SessionDesignator`` and a name.

    >>> session_of(date(2026, 12, 3))
    ('2026-08', '2026-2027')
    """
    return f"{school_year_start(day)}-08", school_year(day)


def _add(parent: etree._Element, tag: str, text: str | None = None) -> etree._Element:
    child = etree.SubElement(parent, tag)
    if text is not None:
        child.text = text
    return child


def notes(text: str) -> list[str]:
    """Text cut into NoteMessage-sized pieces at word boundaries.

    >>> notes("one two three")
    ['one two three']
    """
    pieces: list[str] = []
    line = ""
    for word in text.split():
        word = word[:NOTE_LENGTH]
        if line and len(line) + 1 + len(word) > NOTE_LENGTH:
            pieces.append(line)
            line = word
        else:
            line = f"{line} {word}" if line else word
    if line:
        pieces.append(line)
    return pieces


def _organization(parent: etree._Element, name: str, local_id: str = "",
                  qualifier: str = "") -> None:
    org = _add(parent, "Organization")
    if local_id:
        local = _add(org, "LocalOrganizationID")
        _add(local, "LocalOrganizationIDCode", local_id)
        _add(local, "LocalOrganizationIDQualifier", qualifier or "MutuallyDefined")
    _add(org, "OrganizationName", name)


def _course(parent: etree._Element, section: TranscriptSection, as_of: date) -> None:
    course = _add(parent, "Course")
    _add(course, "CourseCreditBasis", "Regular")
    _add(course, "CourseTitle", section.title)
    for group in section.groups:
        for row in group.rows:
            rap = _add(course, "Proficiency")
            if row.code:
                _add(rap, "RAPCode", row.code)
            _add(rap, "RAPName", row.statement)
            _add(rap, "RAPSubName", level_text(row))
            _add(rap, "ConditionsMetCode", "Yes" if row.proficient else "No")
            if row.proficient and row.achieved_on is not None:
                _add(rap, "ConditionsMetDate", row.achieved_on.isoformat())
    _add(course, "NoteMessage", f"Competencies as of {as_of.isoformat()}")


def _session(record: etree._Element, year: str) -> etree._Element:
    """A school year ("2024-2025") as an ``AcademicSession`` of the record."""
    session = _add(record, "AcademicSession")
    detail = _add(session, "AcademicSessionDetail")
    _add(detail, "SessionDesignator", f"{year[:4]}-08")
    _add(detail, "SessionName", year)
    _add(detail, "SessionType", "FullYear")
    _add(detail, "SessionSchoolYear", year)
    return session


def _credit_course(parent: etree._Element, credit: CreditRow) -> None:
    """A course whose credit is earned by competency (or was accepted on transfer)."""
    course = _add(parent, "Course")
    _add(course, "CourseCreditBasis", "Regular")
    _add(course, "CourseCreditUnits", "CarnegieUnits")
    _add(course, "CourseCreditValue", f"{credit.credits:g}")
    counted = credit.earned or bool(credit.transfer_from)
    _add(course, "CourseCreditEarned", f"{credit.credits if counted else 0:g}")
    _add(course, "CourseNumber", credit.course)
    _add(course, "CourseTitle", credit.title)
    if credit.transfer_from:
        said = f"transfer credit from {credit.transfer_from}"
    elif credit.earned:
        said = ("credit by demonstrated competency: earned "
                f"{credit.earned_on or ''}").strip()
    else:
        said = ("credit by demonstrated competency: "
                + ("in progress" if credit.in_progress else "not yet earned"))
    _add(course, "NoteMessage", said[0].upper() + said[1:])


def high_school_transcript(transcript: Transcript, *, document_id: str, created: datetime,
                           reissue: bool = False, destination: str = "Admissions office",
                           district_id: str = "") -> bytes:
    """The PESC High School Transcript XML (UTF-8, with declaration) of an issued transcript."""
    root = etree.Element(f"{{{HSTRN}}}HighSchoolTranscript", nsmap=NSMAP)
    data = _add(root, "TransmissionData")
    _add(data, "DocumentID", document_id)
    _add(data, "CreatedDateTime", created.astimezone(UTC).replace(microsecond=0)
         .strftime("%Y-%m-%dT%H:%M:%SZ"))
    _add(data, "DocumentTypeCode", "StudentRequest")
    _add(data, "TransmissionType", "Reissue" if reissue else "Original")
    _organization(_add(data, "Source"), transcript.district_name, district_id)
    _organization(_add(data, "Destination"), destination)
    _add(data, "DocumentOfficialCode", "Official")
    _add(data, "DocumentCompleteCode", "Complete")

    student = _add(root, "Student")
    person = _add(student, "Person")
    _add(person, "SchoolAssignedPersonID", transcript.student.sis_id)
    summary = transcript.summary
    if summary is not None and summary.birth_date:
        _add(_add(person, "Birth"), "BirthDate", summary.birth_date)
    name = _add(person, "Name")
    _add(name, "FirstName", transcript.student.given_name or "-")
    _add(name, "LastName", transcript.student.family_name or "-")
    credits = list(summary.credits) if summary is not None else []
    record = _add(student, "AcademicRecord")
    school = _add(record, "School")
    _add(school, "OrganizationName", transcript.student.school_name or transcript.district_name)
    _add(_add(record, "StudentLevel"), "StudentLevelCode",
         student_level(transcript.student.grade))
    _designator, current = session_of(transcript.issued_on)
    here = [c for c in credits if not c.transfer_from]
    years = sorted({c.school_year for c in here if c.school_year} - {current})
    for year in years:
        # An earlier school year: the courses whose credit it gave, or is giving.
        session = _session(record, year)
        for credit in here:
            if credit.school_year == year:
                _credit_course(session, credit)
    session = _session(record, current)
    for credit in here:
        if credit.school_year in ("", current):
            _credit_course(session, credit)
    for section in (*transcript.academic, *transcript.habits):
        _course(session, section, transcript.issued_on)
    for school_name in dict.fromkeys(c.transfer_from for c in credits if c.transfer_from):
        # Credit accepted on transfer: the sending school's own academic record, as PESC
        # gives each school a student attended.
        other = _add(student, "AcademicRecord")
        _add(_add(other, "School"), "OrganizationName", school_name)
        mine = [c for c in credits if c.transfer_from == school_name]
        for year in sorted({c.school_year for c in mine}):
            session = _session(other, year) if year else other
            for credit in mine:
                if credit.school_year == year:
                    _credit_course(session, credit)
        _add(other, "NoteMessage", f"Transfer credit accepted by "
                                   f"{transcript.student.school_name or transcript.district_name}")

    letter = transcript.letter
    for text in _letter_notes(letter.scale_name, letter.method_sentences,
                              [f"{lv.code} {lv.label}" + (" (proficient)" if lv.proficient
                                                          else "") for lv in letter.levels]):
        _add(root, "NoteMessage", text)
    return bytes(etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True))


def _letter_notes(scale: str, method: Sequence[str], levels: Sequence[str]) -> list[str]:
    return [*notes(f"Proficiency scale: {scale}. Levels: {'; '.join(levels)}."),
            *(piece for sentence in method for piece in notes(sentence))]
