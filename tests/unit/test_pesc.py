"""The PESC High School Transcript v1.5.0 export: well formed, in the schema's order, codes from its lists.

No XSD for v1.5.0 is available to us (decision 0032), so the structure is checked
against the element sequences PESC's schemas publish: the root in the message
namespace, every element under it unqualified, children in sequence order, and
code values from the schema's enumerations.
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from lxml import etree

from connector.transcripts import pesc
from connector.transcripts.model import Transcript
from tests.unit.test_transcript_render import ESCAPE_STATEMENT, make_transcript

WHEN = datetime(2026, 12, 3, 16, 0, 7, 123, tzinfo=UTC)
#: Each element's children, in the order the PESC sequences give (a subset we write).
SEQUENCES = {
    "HighSchoolTranscript": ["TransmissionData", "Student", "NoteMessage"],
    "TransmissionData": ["DocumentID", "CreatedDateTime", "DocumentTypeCode", "TransmissionType",
                         "Source", "Destination", "DocumentProcessCode", "DocumentOfficialCode",
                         "DocumentCompleteCode", "RequestTrackingID", "NoteMessage"],
    "Organization": ["LocalOrganizationID", "CEEBACT", "OrganizationName", "Contacts",
                     "NoteMessage"],
    "Student": ["Person", "AcademicRecord", "Health", "Tests", "NoteMessage"],
    "Person": ["SchoolAssignedPersonID", "AgencyIdentifier", "Birth", "Name", "Contacts",
               "Gender", "NoteMessage"],
    "Name": ["FirstName", "MiddleName", "LastName"],
    "AcademicRecord": ["School", "StudentLevel", "AcademicAward", "AcademicSummary",
                       "AcademicSession", "Course", "NoteMessage"],
    "AcademicSession": ["AcademicSessionDetail", "School", "StudentLevel", "AcademicProgram",
                        "AcademicAward", "Course", "AcademicSummary", "NoteMessage"],
    "AcademicSessionDetail": ["SessionDesignator", "SessionDesignatorSuffix", "SessionName",
                              "SessionType", "SessionSchoolYear", "SessionBeginDate",
                              "SessionEndDate", "NoteMessage"],
    "Course": ["CourseCreditBasis", "CourseCreditUnits", "CourseCreditLevel", "CourseCreditValue",
               "CourseCreditEarned", "CourseAcademicGrade", "CourseNumber", "CourseTitle",
               "Requirement", "Attribute", "Proficiency", "NoteMessage"],
    "Proficiency": ["RAPCode", "RAPName", "RAPSubName", "ConditionsMetCode",
                    "ConditionsMetDate", "NoteMessage"],
}
CODES = {
    "DocumentTypeCode": {"Request", "Response", "StudentRequest", "RequestedRecord",
                         "InstitutionRequest", "ThirdPartyRequest"},
    "TransmissionType": {"Original", "Replace", "Duplicate", "Resubmission", "Reissue",
                         "MutuallyDefined"},
    "DocumentOfficialCode": {"Official", "Unofficial"},
    "DocumentCompleteCode": {"Partial", "Complete"},
    "CourseCreditBasis": {"Regular", "AdvancedPlacement", "HighSchoolTransferCredit",
                          "HighSchoolCreditOnly", "HighSchoolDualCredit", "CreditByExam"},
    "SessionType": {"FullYear", "Semester", "Trimester", "Quarter", "SummerSession"},
    "ConditionsMetCode": {"Yes", "No", "Conditional", "MutuallyDefined"},
}


@pytest.fixture(scope="module")
def transcript() -> Transcript:
    return make_transcript()


@pytest.fixture(scope="module")
def root(transcript: Transcript) -> etree._Element:
    xml = pesc.high_school_transcript(transcript, document_id="cedar-ridge-7-v2", created=WHEN)
    assert xml.startswith(b"<?xml version='1.0' encoding='UTF-8'?>")
    return etree.fromstring(xml)


def _local(element: etree._Element) -> str:
    return etree.QName(element).localname


def test_the_root_is_the_v1_5_0_message_and_everything_under_it_is_unqualified(
        root: etree._Element) -> None:
    assert root.tag == "{urn:org:pesc:message:HighSchoolTranscript:v1.5.0}HighSchoolTranscript"
    assert root.nsmap["AcRec"] == "urn:org:pesc:sector:AcademicRecord:v1.9.0"
    assert root.nsmap["core"] == "urn:org:pesc:core:CoreMain:v1.14.0"
    assert all(etree.QName(e).namespace is None for e in root.iterdescendants())


def test_children_follow_the_schemas_sequences(root: etree._Element) -> None:
    checked = 0
    for element in root.iter():
        order = SEQUENCES.get(_local(element))
        if order is None:
            continue
        names = [_local(child) for child in element]
        assert set(names) <= set(order), (_local(element), names)
        positions = [order.index(n) for n in names]
        assert positions == sorted(positions), (_local(element), names)
        checked += 1
    assert checked > 10
    for required in ("TransmissionData/DocumentID", "TransmissionData/Source/Organization",
                     "TransmissionData/Destination/Organization", "Student/Person/Name",
                     "Student/AcademicRecord/AcademicSession/AcademicSessionDetail/"
                     "SessionDesignator"):
        assert root.find(required) is not None, required


def test_codes_come_from_the_schemas_lists(root: etree._Element) -> None:
    for name, allowed in CODES.items():
        values = {e.text for e in root.iter(name)}
        assert values and values <= allowed, (name, values)
    assert root.findtext("TransmissionData/CreatedDateTime") == "2026-12-03T16:00:07Z"
    assert root.findtext("Student/AcademicRecord/StudentLevel/StudentLevelCode") == "EleventhGrade"
    designator = root.findtext("Student/AcademicRecord/AcademicSession/AcademicSessionDetail/"
                               "SessionDesignator")
    assert designator == "2024-08"  # the school year of the transcript's date (2025-01-15)


def test_each_competency_is_a_proficiency_of_its_content_area(
        root: etree._Element, transcript: Transcript) -> None:
    courses = root.findall("Student/AcademicRecord/AcademicSession/Course")
    titles = [c.findtext("CourseTitle") for c in courses]
    assert titles == [s.title for s in (*transcript.academic, *transcript.habits)]
    rows = [r for s in (*transcript.academic, *transcript.habits) for g in s.groups
            for r in g.rows]
    written = [p for c in courses for p in c.findall("Proficiency")]
    assert [p.findtext("RAPName") for p in written] == [r.statement for r in rows]
    assert ESCAPE_STATEMENT in [p.findtext("RAPName") for p in written]  # escaped, not cut
    for p, row in zip(written, rows, strict=True):
        assert p.findtext("ConditionsMetCode") == ("Yes" if row.proficient else "No")
        met = p.findtext("ConditionsMetDate")
        assert met == (row.achieved_on.isoformat() if row.proficient and row.achieved_on
                       else None)


def test_the_letter_travels_as_notes_and_a_reissue_says_so(transcript: Transcript) -> None:
    xml = etree.fromstring(pesc.high_school_transcript(
        transcript, document_id="x", created=WHEN, reissue=True, destination="State U"))
    assert xml.findtext("TransmissionData/TransmissionType") == "Reissue"
    assert xml.findtext("TransmissionData/Destination/Organization/OrganizationName") == "State U"
    notes = [n.text for n in xml.findall("NoteMessage")]
    assert all(len(n) <= pesc.NOTE_LENGTH for n in notes)
    assert " ".join(notes).startswith("Proficiency scale: Four-point proficiency scale.")
    assert " ".join(transcript.letter.method_sentences[0].split()) in " ".join(notes)


def test_birth_date_and_credit_by_competency_are_written_in_place() -> None:
    from tests.unit.test_transcript_summary import _with_parent_and_override

    xml = etree.fromstring(pesc.high_school_transcript(
        _with_parent_and_override(), document_id="x", created=WHEN))
    assert xml.findtext("Student/Person/Birth/BirthDate") == "2008-04-17"
    courses = xml.findall("Student/AcademicRecord/AcademicSession/Course")
    credit = {c.findtext("CourseNumber"): c for c in courses if c.findtext("CourseNumber")}
    assert credit["MA-ALG2"].findtext("CourseCreditEarned") == "1"
    assert credit["EN-11"].findtext("CourseCreditEarned") == "0"
    assert credit["MA-ALG2"].findtext("CourseCreditUnits") == "CarnegieUnits"
    for element in xml.iter():  # still in the schemas' order
        order = SEQUENCES.get(etree.QName(element).localname)
        if order:
            positions = [order.index(etree.QName(c).localname) for c in element]
            assert positions == sorted(positions)
