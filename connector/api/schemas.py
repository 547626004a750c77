"""Marshmallow schemas for what the API returns."""

from __future__ import annotations

from marshmallow import INCLUDE, Schema, fields, validate


def next_cursor() -> fields.String:
    """The member that leads to a list's next page."""
    return fields.String(allow_none=True, metadata={
        "description": "Pass as cursor for the next page; null on the last."})


class OpenSchema(Schema):
    """An answer whose members vary (a report's rows, a view's sections): only some named."""

    class Meta:
        unknown = INCLUDE


class RunSchema(Schema):
    id = fields.Integer()
    job = fields.String()
    status = fields.String()
    started_at = fields.DateTime()
    finished_at = fields.DateTime(allow_none=True)
    rejection_count = fields.Integer()
    config_version = fields.String()
    counts = fields.Dict()
    message = fields.String()


class RejectionSchema(Schema):
    file = fields.String()
    row = fields.Integer(allow_none=True)
    field = fields.String()
    reason = fields.String()
    record_key = fields.String()


class StepSchema(Schema):
    code = fields.String()
    message = fields.String()


class InputSchema(Schema):
    evidence_id = fields.Integer(allow_none=True)
    key = fields.String()
    label = fields.String()
    value = fields.Float()
    assessed_at = fields.String()
    dok = fields.Integer(allow_none=True)
    type = fields.String()
    status = fields.String()
    counted_as = fields.Float(allow_none=True)


class OverrideSchema(Schema):
    id = fields.Integer()
    state = fields.String()
    level = fields.String(allow_none=True)
    reason = fields.String()
    by = fields.String()
    at = fields.DateTime()


class MasteryRecordSchema(Schema):
    competency = fields.String(attribute="competency_identifier")
    code = fields.String()
    statement = fields.String()
    framework = fields.String()
    state = fields.String()
    level = fields.String(attribute="level_code", allow_none=True)
    label = fields.String(attribute="level_label")
    score = fields.Float(allow_none=True)
    proficient = fields.Boolean()
    target_dok = fields.Integer(allow_none=True)
    highest_dok = fields.Integer(allow_none=True)
    evidence_count = fields.Integer()
    inputs = fields.List(fields.Nested(InputSchema))
    computed_state = fields.String()
    computed_level = fields.String(attribute="computed_level_code", allow_none=True)
    computed_score = fields.Float(allow_none=True)
    override = fields.Nested(OverrideSchema, allow_none=True)
    method = fields.String()
    parameters = fields.Dict()
    explanation = fields.String()
    steps = fields.List(fields.Nested(StepSchema))
    engine_version = fields.String()
    policy_version = fields.String()
    achieved_at = fields.DateTime(allow_none=True)
    first_evidence_at = fields.DateTime(allow_none=True)
    proficient_since = fields.DateTime(allow_none=True)
    computed_at = fields.DateTime()


class UnmappedItemSchema(Schema):
    source = fields.String()
    item = fields.String()
    title = fields.String()
    note = fields.String()
    scores = fields.Integer()


# ---- what each read answers: the envelopes around the records ---------------------------


class HealthSchema(Schema):
    status = fields.String(metadata={"enum": ["ok", "degraded"]})
    database = fields.String(metadata={"enum": ["ok", "unavailable"]})


class StatusSchema(Schema):
    district = fields.String()
    healthy = fields.Boolean()
    unhealthy_when = fields.List(fields.String())
    checked_at = fields.String()
    jobs = fields.List(fields.Dict(), metadata={"description": "Each job's last run, its age "
                                                               "and what makes it unhealthy."})


class RunsSchema(Schema):
    runs = fields.List(fields.Nested(RunSchema))
    next_cursor = next_cursor()


class StageSchema(Schema):
    name = fields.String()
    state = fields.String(metadata={"enum": ["done", "running"]})
    seconds = fields.Float(allow_none=True)


class RunDetailSchema(Schema):
    run = fields.Nested(RunSchema)
    stages = fields.List(fields.Nested(StageSchema), metadata={
        "description": "Stages in order with their seconds; while running, the current one "
                       "last."})
    rejections = fields.List(fields.Nested(RejectionSchema),
                             metadata={"description": "The first 1,000, in order."})


class StudentMasterySchema(Schema):
    student = fields.String()
    records = fields.List(fields.Nested(MasteryRecordSchema))


class UnmappedListSchema(Schema):
    items = fields.List(fields.Nested(UnmappedItemSchema))


class ProgressSchema(OpenSchema):
    as_of = fields.String(metadata={"format": "date"})
    student = fields.String()
    name = fields.String(allow_none=True)
    grade = fields.String(allow_none=True)
    domains = fields.List(fields.Dict(), metadata={"description": "Academic level and pace "
                                                                  "per domain."})
    exceptions = fields.List(fields.Raw())
    credit = fields.Raw(metadata={"description": "Course credit earned by competencies."})


class SideBySideSchema(OpenSchema):
    student = fields.String()
    competency = fields.String()


class DokExposureSchema(Schema):
    by = fields.String(metadata={"enum": ["school", "class"]})
    rows = fields.List(fields.Dict())


class RecordSchema(Schema):
    record = fields.Nested(MasteryRecordSchema)


class OverrideMadeSchema(Schema):
    override_id = fields.Integer()
    record = fields.Nested(MasteryRecordSchema)


class OverrideHistorySchema(Schema):
    overrides = fields.List(fields.Dict())


class CalcResultSchema(Schema):
    value = fields.Float(allow_none=True)
    level = fields.String(allow_none=True)
    level_code = fields.String(allow_none=True)
    state = fields.String()
    proficient = fields.Boolean()
    method = fields.String()
    parameters = fields.Dict()
    explanation = fields.String()
    steps = fields.List(fields.Nested(StepSchema))


class AuditEventSchema(Schema):
    id = fields.Integer()
    at = fields.DateTime()
    actor = fields.String()
    action = fields.String()
    subject = fields.String()
    reason = fields.String()
    before = fields.Dict(allow_none=True)
    after = fields.Dict(allow_none=True)
    details = fields.Dict()


class AuditSchema(Schema):
    events = fields.List(fields.Nested(AuditEventSchema))
    next_cursor = next_cursor()


class GridSchema(Schema):
    class_ = fields.Dict(data_key="class", metadata={"description": "id, title, school."})
    competencies = fields.List(fields.Dict(), metadata={
        "description": "Columns: identifier, code, statement, target DOK, in code order."})
    students = fields.List(fields.Dict(), metadata={
        "description": "Rows, in name order, a page at a time: SIS id, name, grade, and "
                       "levels by competency identifier (level, state, overridden)."})
    next_cursor = next_cursor()


class FrameworksSchema(Schema):
    frameworks = fields.List(fields.Dict())


class CompetenciesSchema(Schema):
    framework = fields.String()
    competencies = fields.List(fields.Dict(), metadata={
        "description": "identifier, code, statement, target DOK, parent, depth."})
    next_cursor = next_cursor()


class IdentityExceptionSchema(Schema):
    job = fields.String()
    run = fields.Integer(metadata={"description": "The job's latest run."})
    source = fields.String(metadata={"description": "The source that sent the records."})
    kind = fields.String(metadata={
        "description": "How the source names the student: user (an LMS user id), "
                       "sourced_id, username, email or identifier; blank when unknown.",
        "enum": ["", "user", "sourced_id", "username", "email", "identifier"]})
    external_id = fields.String(metadata={"description": "The id the source sent."})
    reason = fields.String()
    records = fields.Integer(metadata={"description": "How many records wait on it."})
    where = fields.String(metadata={"description": "The first file or page it came from."})
    linked = fields.String(allow_none=True, metadata={
        "description": "The SIS id it is linked to, once an identity link is made: the "
                       "next run brings the records in."})


class IdentityExceptionsSchema(Schema):
    exceptions = fields.List(fields.Nested(IdentityExceptionSchema), metadata={
        "description": "Per job's latest run, source and id: how many records wait on a "
                       "student no source could match to the roster."})


class RemovalSchema(Schema):
    """Why something made from a queue is removed: the audit keeps it with what was removed."""

    reason = fields.String(required=True, validate=validate.Length(min=1, max=2000))


class IdentityLinkSchema(Schema):
    id = fields.Integer()
    source = fields.String()
    kind = fields.String()
    external_id = fields.String()
    student = fields.String(metadata={"description": "The roster student's SIS id."})
    created_at = fields.String()
    created_by = fields.String()


class IdentityLinkListSchema(Schema):
    links = fields.List(fields.Nested(IdentityLinkSchema))


class GrantSchema(Schema):
    role = fields.String()
    school = fields.String(allow_none=True, metadata={
        "description": "The school (org sourcedId) of a school role; null for the others."})


class MeSchema(Schema):
    district = fields.String()
    actor = fields.String(metadata={"description": "How the audit names this caller."})
    kind = fields.String(metadata={"enum": ["person", "service"]})
    roles = fields.List(fields.Nested(GrantSchema))
    permissions = fields.List(fields.String())
    classes = fields.List(fields.String(), metadata={
        "description": "The classes the roster says this person teaches."})


class UserSchema(Schema):
    email = fields.String()
    name = fields.String()
    active = fields.Boolean()
    roles = fields.List(fields.String(), metadata={
        "description": "role, or role:school for school roles."})
    roster_id = fields.String()
    password = fields.Boolean(metadata={"description": "Whether a password is set (else "
                                                      "single sign-on only)."})
    created_at = fields.DateTime()
    last_sign_in_at = fields.DateTime(allow_none=True)


class UsersSchema(Schema):
    users = fields.List(fields.Nested(UserSchema))


class TokenSchema(Schema):
    id = fields.Integer()
    name = fields.String()
    prefix = fields.String(metadata={"description": "The token's first characters, to "
                                                    "recognise it; never the token."})
    scopes = fields.List(fields.String())
    user = fields.String(allow_none=True, metadata={
        "description": "The account it acts for; null for a service token."})
    created_at = fields.DateTime()
    created_by = fields.String()
    expires_at = fields.DateTime(allow_none=True)
    revoked_at = fields.DateTime(allow_none=True)
    last_used_at = fields.DateTime(allow_none=True)
    token = fields.String(metadata={"description": "Only in the answer that makes it."})


class TokenListSchema(Schema):
    tokens = fields.List(fields.Nested(TokenSchema))


class JobSchema(OpenSchema):
    job = fields.String()
    kind = fields.String()
    schedule = fields.String(allow_none=True)
    condition = fields.String(metadata={"description": "The last run's status, or worse news "
                                                       "(stale, held, never_run)."})
    last_run = fields.Dict(allow_none=True)
    next_run_at = fields.String(allow_none=True, metadata={"format": "date-time"})
    queued_run_id = fields.Integer(allow_none=True, metadata={
        "description": "A run asked for and waiting for the scheduler."})


class JobsSchema(Schema):
    district = fields.String()
    jobs = fields.List(fields.Nested(JobSchema))


class QueuedSchema(Schema):
    run_id = fields.Integer()
    status = fields.String()
    job = fields.String()
    new = fields.Boolean(metadata={"description": "false when the job was already queued: "
                                                  "this is that run."})
    location = fields.String()


class RejectionsSchema(Schema):
    run_id = fields.Integer()
    rejections = fields.List(fields.Nested(RejectionSchema))
    next_cursor = next_cursor()


class CrosswalkEntrySchema(Schema):
    id = fields.Integer()
    source = fields.String()
    item = fields.String()
    competency = fields.String(metadata={"description": "The CASE identifier."})
    dok = fields.Integer(allow_none=True)
    evidence_type = fields.String(allow_none=True)
    weight = fields.Float()
    match = fields.String()
    course = fields.String()
    created_at = fields.String()
    created_by = fields.String()


class CrosswalkListSchema(Schema):
    entries = fields.List(fields.Nested(CrosswalkEntrySchema))
