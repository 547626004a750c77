"""Marshmallow schemas for everything a district writes in YAML.

Each schema loads into the frozen objects of :mod:`connector.config.model`, so
validation happens once, at the edge, and errors carry the key path.
"""

from __future__ import annotations

import difflib
import re
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from marshmallow import (
    EXCLUDE,
    RAISE,
    Schema,
    ValidationError,
    fields,
    post_load,
    validate,
    validates,
    validates_schema,
)

from connector.adapters.options import SecretRef
from connector.config.cron import check_cron
from connector.config.model import (
    CredentialSettings,
    DeliveryTarget,
    DestinationConfig,
    DistrictConfig,
    FrameworkSource,
    GpaRow,
    JobConfig,
    MasterySettings,
    SchoolProfile,
    SourceConfig,
    TranscriptSettings,
)
from connector.config.operations_schemas import (
    AlertsSchema,
    HoldSchema,
    ReportsSchema,
    RetentionSchema,
    SignInSchema,
)
from connector.config.progress_schemas import ProgressSchema, RollupsSchema
from connector.domain.evidence import EvidenceType
from connector.domain.framework import FrameworkKind
from connector.domain.scale import DEFAULT_STATE_LABELS, Level, ProficiencyScale
from connector.errors import ConfigurationError, MasteryError
from connector.frameworks.dok import DEFAULT_DOK_PATTERNS, compile_patterns
from connector.mapping.alignment import EvidenceDefaults
from connector.mapping.normalise import CutScore, ScoreConversion
from connector.mastery.policy import MISSING_WORK_RULES, MasteryPolicy

KEY = validate.Regexp(r"^[a-z0-9][a-z0-9_-]{0,63}$", error="use lowercase letters, digits, - or _")
EVIDENCE_TYPES = [t.value for t in EvidenceType]


class Strict(Schema):
    class Meta:
        unknown = RAISE


class LevelSchema(Strict):
    #: What records and bundles carry ("3").
    code = fields.String(required=True)
    #: What people read ("Proficient").
    label = fields.String(required=True)
    #: Its place on the scale; levels are ordered by it.
    value = fields.Float(required=True)
    #: What the level means, for transcripts and reports.
    description = fields.String(load_default="")


class ScaleSchema(Strict):
    #: The scale's identifier in bundles and records.
    key = fields.String(required=True, validate=KEY)
    #: Shown on transcripts and reports.
    name = fields.String(required=True)
    #: Changing it recomputes every record.
    version = fields.String(load_default="1")
    #: The code of the first level that counts as proficient.
    proficient = fields.String(required=True)
    #: Lowest first; at least two.
    levels = fields.List(fields.Nested(LevelSchema), required=True, validate=validate.Length(min=2))
    #: Labels for the states that are not levels: not_yet, insufficient_evidence, exempt,
    #: needs_teacher_judgment.
    states = fields.Dict(keys=fields.String(validate=validate.OneOf(list(DEFAULT_STATE_LABELS))),
                         values=fields.String(), load_default=dict)

    @post_load
    def make(self, data: dict[str, Any], **_: Any) -> ProficiencyScale:
        try:
            return ProficiencyScale(
                key=data["key"],
                name=data["name"],
                version=data["version"],
                levels=tuple(Level(**lv) for lv in data["levels"]),
                proficient_code=data["proficient"],
                state_labels={**DEFAULT_STATE_LABELS, **data["states"]},
            )
        except ConfigurationError as exc:
            raise ValidationError(exc.message) from exc


class DokGateSchema(Strict):
    #: Proficient needs evidence at the competency's target DOK.
    enabled = fields.Boolean()
    #: The evidence types that can meet the gate.
    qualifying_evidence_types = fields.List(fields.String(validate=validate.OneOf(EVIDENCE_TYPES)))


class AdaptiveSchema(Strict):
    #: Adaptive practice: counted like any evidence, capped at max_level, or excluded.
    treatment = fields.String(validate=validate.OneOf(["count", "cap", "exclude"]))
    #: With cap: the highest level adaptive evidence alone can show.
    max_level = fields.String()
    #: The evidence types the adaptive rule applies to.
    types = fields.List(fields.String(validate=validate.OneOf(EVIDENCE_TYPES)))


class PolicyChangesSchema(Strict):
    """Policy settings as written in YAML; loads into the changes they make to a policy.

    The district's policy starts from the engine's defaults; framework and competency
    overrides start from the policy above them. Each names only what it changes.
    """

    #: The calculation (docs/decisions/0007-mastery-methods.md lists the fourteen). Default
    #: decaying_average.
    method = fields.String()
    #: The method's parameters, e.g. {weight: 0.65}.
    parameters = fields.Dict(keys=fields.String(), values=fields.Raw())
    #: Pieces of evidence needed before a level is reported. Default 1.
    min_evidence = fields.Integer(validate=validate.Range(min=1))
    #: Evidence older than this, counted from the newest piece, is set aside. Default: none.
    recency_days = fields.Integer(allow_none=True, validate=validate.Range(min=1))
    #: all counts every attempt; supersede keeps the latest attempt per item. Default all.
    attempts = fields.String(validate=validate.OneOf(["all", "supersede"]))
    #: The DOK gate. Default on, with teacher, performance, common-assessment and state-test
    #: evidence.
    dok_gate = fields.Nested(DokGateSchema)
    #: How adaptive practice counts. Default count.
    adaptive = fields.Nested(AdaptiveSchema)
    #: Work not turned in: ignore (default; shown, not counted), lowest_level, or flag.
    missing_work = fields.String(validate=validate.OneOf(MISSING_WORK_RULES))

    @post_load
    def make(self, data: dict[str, Any], **_: Any) -> dict[str, Any]:
        changes = {k: v for k, v in data.items() if k not in ("dok_gate", "adaptive")}
        gate = data.get("dok_gate", {})
        if "enabled" in gate:
            changes["dok_gate"] = gate["enabled"]
        if "qualifying_evidence_types" in gate:
            changes["qualifying_evidence_types"] = frozenset(gate["qualifying_evidence_types"])
        adaptive = data.get("adaptive", {})
        for key, name in (("treatment", "adaptive"), ("max_level", "adaptive_max_level"),
                          ("types", "adaptive_types")):
            if key in adaptive:
                changes[name] = frozenset(adaptive[key]) if key == "types" else adaptive[key]
        return changes


def apply_policy(base: MasteryPolicy, changes: dict[str, Any]) -> MasteryPolicy:
    """``base`` with ``changes``; a bad combination becomes a validation error at its key."""
    try:
        return base.merged(changes)
    except MasteryError as exc:
        raise ValidationError(exc.message, str(exc.context.get("field", "_schema"))) from exc


class MasterySchema(PolicyChangesSchema):
    #: The district's calculation; overrides below change it per framework or competency.
    method = fields.String(required=True)
    #: Policy changes per framework key; each names only what differs.
    framework_overrides = fields.Dict(
        keys=fields.String(), values=fields.Nested(PolicyChangesSchema), load_default=dict
    )
    #: Policy changes per competency (CASE identifier or code).
    competency_overrides = fields.Dict(
        keys=fields.String(), values=fields.Nested(PolicyChangesSchema), load_default=dict
    )

    @post_load
    def make(self, data: dict[str, Any], **kwargs: Any) -> MasterySettings:
        frameworks = data.pop("framework_overrides")
        competencies = data.pop("competency_overrides")
        default = apply_policy(MasteryPolicy(), super().make(data, **kwargs))
        errors: dict[str, Any] = {}
        resolved = {}
        for key, changes in frameworks.items():
            try:
                resolved[key] = apply_policy(default, changes)
            except ValidationError as exc:
                errors.setdefault("framework_overrides", {})[key] = exc.messages
        for key, changes in competencies.items():
            try:  # checked against the district policy; applied later to the framework's
                apply_policy(default, changes)
            except ValidationError as exc:
                errors.setdefault("competency_overrides", {})[key] = exc.messages
        if errors:
            raise ValidationError(errors)
        return MasterySettings(default=default, overrides=resolved, competency_changes=competencies)


class FrameworkSourceSchema(Strict):
    #: The framework's key in reports, jobs and overrides.
    key = fields.String(required=True, validate=KEY)
    #: A CASE CFPackage file or a CASE provider URL.
    location = fields.String(required=True)
    #: academic, habits (of success) or reference.
    kind = fields.String(load_default="academic",
                         validate=validate.OneOf([k.value for k in FrameworkKind]))
    #: A bearer token for the CASE provider.
    token = SecretRef(load_default=None)

    @post_load
    def make(self, data: dict[str, Any], **_: Any) -> FrameworkSource:
        return FrameworkSource(**data)


class GpaRowSchema(Strict):
    #: A level code of the scale.
    level = fields.String(required=True)
    #: The GPA the letter's table gives beside that level.
    gpa = fields.Float(required=True, validate=validate.Range(min=0, max=5))


def check_issuer_id(value: str) -> None:
    """An https URL or a did:web identifier: something a verifier can resolve to our key."""
    if value.startswith("did:web:") and len(value) > len("did:web:") \
            and " " not in value and "/" not in value:
        return
    if value.startswith("https://") and len(value) > len("https://") and " " not in value:
        return
    raise ValidationError(f"{value!r} is not an https URL or a did:web identifier "
                          "(such as 'did:web:cedar-ridge.example')")


def check_key_reference(value: str) -> None:
    """The key's path comes from the environment, so each machine names its own key file."""
    if not re.fullmatch(r"\$\{[A-Za-z_][A-Za-z0-9_]*(:-[^}]*)?\}", value.strip()):
        raise ValidationError("the signing key file must be an environment reference such as "
                              "${CEDAR_RIDGE_SIGNING_KEY_FILE} (or ${VAR:-default/path.pem})")


def check_public_url(value: str) -> None:
    """https, or http on this machine only (for trying it out): verifiers fetch from it."""
    local = value.startswith(("http://127.0.0.1", "http://localhost"))
    if (value.startswith("https://") or local) and " " not in value and not value.endswith("/"):
        return
    raise ValidationError(f"{value!r} must be an https URL without a trailing slash "
                          "(http only for 127.0.0.1 or localhost)")


class CredentialSchema(Strict):
    #: The issuer's id in every credential: an https URL or `did:web:<host>`, whose document
    #: (`connector transcripts issuer-document`) publishes the public key.
    issuer_id = fields.String(required=True, validate=check_issuer_id)
    #: Where this service answers on the web; the revocation status list is published under
    #: it, at `/api/v1/districts/<key>/credentials/status`.
    public_url = fields.String(required=True, validate=check_public_url)
    #: An environment reference to the path of the Ed25519 signing key, a PEM file (make
    #: one with `connector transcripts keygen`); `${VAR:-default}` gives a default path,
    #: relative to the folder that holds `config/`.
    signing_key_file = fields.String(required=True, validate=check_key_reference)
    #: The issuer's name in credentials (default: the district's name).
    issuer_name = fields.String(load_default="")
    #: The issuer's homepage, shown by wallets and verifiers.
    issuer_url = fields.String(load_default="")
    #: An email for questions about a credential.
    issuer_email = fields.String(load_default="")

    @post_load
    def make(self, data: dict[str, Any], **_: Any) -> CredentialSettings:
        return CredentialSettings(**data)


class SchoolProfileSchema(Strict):
    #: The school's postal address, one line (page 1 of its transcripts).
    address = fields.String(load_default="")
    #: The school's CEEB (College Board) code, which admissions offices file it under.
    ceeb = fields.String(load_default="", validate=validate.Regexp(
        r"^(\d{6})?$", error="a CEEB code is six digits"))
    #: The school's phone number.
    phone = fields.String(load_default="")
    #: The registrar's name (and title), whom a college contacts about a transcript.
    registrar = fields.String(load_default="")
    #: This school's "School profile" in the letter, in place of the district's (schools
    #: differ: a high school's profile is not a middle school's). Empty: the district's.
    school_profile = fields.String(load_default="")
    #: This school's "Graduation requirements" in the letter. Empty: the district's.
    graduation_requirements = fields.String(load_default="")
    #: Credits a diploma needs per subject (the course's OneRoster subject, "Mathematics");
    #: page 1 shows each against the student's credit and says whether they are met.
    graduation_credits = fields.Dict(keys=fields.String(validate=validate.Length(min=1)),
                                     values=fields.Float(validate=validate.Range(min=0)),
                                     load_default=dict)

    @post_load
    def make(self, data: dict[str, Any], **_: Any) -> SchoolProfile:
        return SchoolProfile(**data)


class DeliverySchema(Strict):
    #: The target's name, for `connector transcripts deliver --target`.
    key = fields.String(required=True, validate=KEY)
    #: folder: a local or mounted folder; sftp: a transcript service's SFTP server.
    kind = fields.String(required=True, validate=validate.OneOf(["folder", "sftp"]))
    #: The folder the files go to (on the SFTP server, for sftp).
    folder = fields.String(required=True, validate=validate.Length(min=1))
    #: What each issued version is delivered as: its PDF, its PESC XML, or both.
    formats = fields.List(fields.String(validate=validate.OneOf(["pdf", "pesc"])),
                          load_default=lambda: ["pdf", "pesc"], validate=validate.Length(min=1))
    #: sftp: the server.
    host = fields.String(load_default="")
    #: sftp: its SSH port.
    port = fields.Integer(load_default=22, validate=validate.Range(min=1, max=65535))
    #: sftp: the account the service gave the district.
    username = fields.String(load_default="")
    #: sftp: the account's password (an environment reference), or use private_key_file.
    password = SecretRef(load_default=None)
    #: sftp: a private key file to sign in with instead of a password.
    private_key_file = fields.String(load_default="")
    #: sftp: an OpenSSH known_hosts file holding the server's host key (required).
    known_hosts = fields.String(load_default="")

    @validates_schema
    def check_sftp(self, data: dict[str, Any], **_: Any) -> None:
        if data["kind"] != "sftp":
            return
        for name in ("host", "username", "known_hosts"):
            if not data.get(name):
                raise ValidationError(f"an sftp delivery needs {name}", name)
        if not (data.get("password") or data.get("private_key_file")):
            raise ValidationError("give a password (environment reference) or private_key_file",
                                  "password")

    @post_load
    def make(self, data: dict[str, Any], **_: Any) -> DeliveryTarget:
        return DeliveryTarget(**{**data, "formats": tuple(dict.fromkeys(data["formats"]))})


class TranscriptSchema(Strict):
    #: The letter's "School profile" section; blank lines start new paragraphs. Empty: the
    #: section is left out (the same holds for the texts below).
    school_profile = fields.String(load_default="")
    #: The letter's "Graduation requirements" section.
    graduation_requirements = fields.String(load_default="")
    #: The letter's "Habits of success" section: how habits are assessed and reported.
    habits_note = fields.String(load_default="")
    #: The name that signs the letter, in bold at its end.
    signatory_name = fields.String(load_default="")
    #: The signatory's title, printed below the name.
    signatory_title = fields.String(load_default="")
    #: How to reach the school (email, phone), printed below the title.
    contact = fields.String(load_default="")
    #: Rows of the letter's "Approximate GPA translation" table; empty leaves the table out.
    gpa_translation = fields.List(fields.Nested(GpaRowSchema), load_default=list)
    #: Signed CLR 2.0 credentials of issued transcripts; left out, none are made.
    credential = fields.Nested(CredentialSchema, load_default=None)
    #: Per school (the roster's org sourcedId): address, CEEB code, phone and registrar,
    #: printed on page 1 of its students' transcripts.
    schools = fields.Dict(keys=fields.String(), values=fields.Nested(SchoolProfileSchema),
                          load_default=dict)
    #: Add a performance snapshot page after the detail: each domain's levels, with the
    #: date the student reached each one.
    performance_snapshot = fields.Boolean(load_default=False)
    #: Where issued transcripts are handed over (`connector transcripts deliver`): each
    #: issued version's PDF and PESC XML, and a notice when one is revoked.
    delivery = fields.List(fields.Nested(DeliverySchema), load_default=list)
    #: A CSV of credit students earned at schools they came from (the SIS's course
    #: history): student, course, title, subject, credits, school, school_year. Listed as
    #: transfer credit and counted toward graduation. Relative to the configuration.
    transfer_credit = fields.String(load_default="")

    @post_load
    def make(self, data: dict[str, Any], **_: Any) -> TranscriptSettings:
        rows = tuple(GpaRow(r["level"], r["gpa"]) for r in data.pop("gpa_translation"))
        keys = [t.key for t in data["delivery"]]
        if len(set(keys)) != len(keys):
            raise ValidationError({"delivery": ["each delivery target needs its own key"]})
        return TranscriptSettings(gpa_translation=rows, **{**data,
                                                          "delivery": tuple(data["delivery"])})


def check_timezone(value: str) -> None:
    """An IANA time zone name (America/Denver), the names every operating system ships."""
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        hint = difflib.get_close_matches(value, sorted(available_timezones()), n=1)
        also = f"; did you mean {hint[0]!r}?" if hint else ""
        raise ValidationError(f"{value!r} is not an IANA time zone name such as "
                              f"'America/Denver'{also}") from None


class DistrictInfoSchema(Strict):
    #: The district's key in URLs, bundles and records.
    key = fields.String(required=True, validate=KEY)
    #: Shown on transcripts and reports.
    name = fields.String(required=True)
    #: Dates without a time zone are read in it; reports are dated in it.
    timezone = fields.String(load_default="UTC", validate=check_timezone)
    #: The API's read token.
    api_token = SecretRef(load_default=None)
    #: The API's token for overrides and other writes.
    api_write_token = SecretRef(load_default=None)


class DistrictFileSchema(Strict):
    #: The district's key, name, time zone and API tokens.
    district = fields.Nested(DistrictInfoSchema, required=True)
    #: The proficiency scale every record, push and transcript uses.
    scale = fields.Nested(ScaleSchema, required=True)
    #: How evidence becomes a level: the district's policy, with framework and competency
    #: overrides.
    mastery = fields.Nested(MasterySchema, required=True)
    #: The CASE frameworks to import; jobs, overrides and roll-ups name them by key.
    frameworks = fields.List(fields.Nested(FrameworkSourceSchema), load_default=list)
    #: Regular expressions that read a competency's target DOK from the CASE item its
    #: hasSkillLevel or isRelatedTo link points at; each has one group capturing 1-4.
    #: A list replaces the defaults; an empty list keeps them.
    dok_patterns = fields.List(fields.String(), load_default=lambda: list(DEFAULT_DOK_PATTERNS))
    #: The explanatory letter for admissions officers at the end of every transcript.
    transcript = fields.Nested(TranscriptSchema, load_default=lambda: TranscriptSchema().load({}))
    #: Parents whose level comes from their children's levels, not from their own evidence.
    rollups = fields.Nested(RollupsSchema, load_default=lambda: RollupsSchema().load({}))
    #: Academic levels, pace, course credit and placement, for the progress reports.
    progress = fields.Nested(ProgressSchema, load_default=lambda: ProgressSchema().load({}))
    #: When IT staff are told about runs and jobs, and how; nothing is sent without email or
    #: webhook.
    alerts = fields.Nested(AlertsSchema, load_default=lambda: AlertsSchema().load({}))
    #: How long copies of what vendors sent are kept, in days; the scheduler applies it daily.
    retention = fields.Nested(RetentionSchema, load_default=lambda: RetentionSchema().load({}))
    #: How people sign in besides passwords: the district's OpenID Connect provider.
    sign_in = fields.Nested(SignInSchema, load_default=lambda: SignInSchema().load({}))
    #: How aggregate reports protect small groups of students.
    reports = fields.Nested(ReportsSchema, load_default=lambda: ReportsSchema().load({}))

    @validates("dok_patterns")
    def check_patterns(self, value: list[str], **_: Any) -> None:
        try:
            compile_patterns(value)
        except (ValueError, Exception) as exc:  # re.error is a ValueError subclass
            raise ValidationError(str(exc)) from exc

    @validates_schema
    def check_cross_refs(self, data: dict[str, Any], **_: Any) -> None:
        scale: ProficiencyScale = data["scale"]
        for index, row in enumerate(data["transcript"].gpa_translation):
            if row.level_code not in {lv.code for lv in scale.levels}:
                raise ValidationError(
                    {"transcript": {"gpa_translation": {index: {"level": [
                        f"{row.level_code!r} is not a level of scale {scale.key!r}"]}}}}
                )
        keys = [f.key for f in data["frameworks"]]
        for key in set(keys):
            if keys.count(key) > 1:
                raise ValidationError({"frameworks": [f"framework key {key!r} is listed twice"]})
        for key in data["rollups"].frameworks:
            if key not in keys:
                raise ValidationError({"rollups": {"frameworks": {key: [
                    f"no framework with key {key!r} is configured; known: {sorted(keys)}"]}}})
        for key in data["mastery"].overrides:
            if key not in keys:
                raise ValidationError({"mastery": {"framework_overrides": {key: [
                    f"no framework with key {key!r} is configured; known: {sorted(keys)}"]}}})
        levels = {lv.code for lv in scale.levels}
        for where, policy in data["mastery"].all_policies():
            cap = policy.adaptive_max_level
            if cap is not None and cap not in levels:
                raise ValidationError({"mastery": {where: [
                    f"adaptive max_level {cap!r} is not a level of scale {scale.key!r}; "
                    f"levels: {sorted(levels)}"]}})

    @post_load
    def make(self, data: dict[str, Any], **_: Any) -> DistrictConfig:
        info = data["district"]
        return DistrictConfig(
            key=info["key"],
            name=info["name"],
            timezone=info["timezone"],
            api_token=info["api_token"],
            api_write_token=info["api_write_token"],
            scale=data["scale"],
            mastery=data["mastery"],
            frameworks=tuple(data["frameworks"]),
            dok_patterns=tuple(data["dok_patterns"]),
            transcript=data["transcript"],
            rollups=data["rollups"],
            progress=data["progress"],
            alerts=data["alerts"],
            retention=data["retention"],
            sign_in=data["sign_in"],
            reports=data["reports"],
        )


class CategoryEvidenceSchema(Strict):
    #: The evidence type of items in this category (its title matched ignoring case),
    #: unless a crosswalk row says otherwise. Empty: the source's evidence_type.
    evidence_type = fields.String(load_default=None, validate=validate.OneOf(EVIDENCE_TYPES))
    #: Their DOK when neither the item nor the crosswalk gives one. Empty: the source's dok.
    dok = fields.Integer(load_default=None, validate=validate.Range(min=1, max=4))


class EvidenceDefaultsSchema(Strict):
    #: The evidence type of this source's items, unless a crosswalk row says otherwise.
    evidence_type = fields.String(required=True, validate=validate.OneOf(EVIDENCE_TYPES))
    #: Their DOK when neither the item nor the crosswalk gives one.
    dok = fields.Integer(load_default=None, validate=validate.Range(min=1, max=4))
    #: Evidence type and DOK per gradebook category title.
    by_category = fields.Dict(keys=fields.String(), values=fields.Nested(CategoryEvidenceSchema),
                              load_default=dict)

    @post_load
    def make(self, data: dict[str, Any], **_: Any) -> EvidenceDefaults:
        return EvidenceDefaults(
            evidence_type=data["evidence_type"],
            dok=data["dok"],
            by_category={k: (v["evidence_type"], v["dok"]) for k, v in data["by_category"].items()},
        )


class CutSchema(Strict):
    #: The lowest percent that reaches the level.
    min_percent = fields.Float(required=True, validate=validate.Range(min=0, max=100))
    #: A level code of the scale.
    level = fields.String(required=True)


class ConversionSchema(Strict):
    #: Percent cut scores, one per level reached.
    cuts = fields.List(fields.Nested(CutSchema), required=True, validate=validate.Length(min=1))
    #: Scores out of this maximum are already on the scale (a 4-point rubric), not percents.
    scale_scored_max = fields.Float(load_default=None)
    #: Text scores and rubric rating names, each to a level code ({"Meets": "3"}).
    text_levels = fields.Dict(keys=fields.String(), values=fields.String(), load_default=dict)
    #: A score above the item's maximum: reject it, or count it as full_marks.
    extra_credit = fields.String(load_default="reject",
                                 validate=validate.OneOf(["reject", "full_marks"]))
    #: A score on an item with no maximum (a OneRoster line item without resultValueMax):
    #: read it as a percent, reject it with the reason, or leave it out as ungraded work.
    #: Empty: OneRoster sources reject it, the others (vendor percents, xAPI) read a percent.
    without_maximum = fields.String(load_default=None,
                                    validate=validate.OneOf(["percent", "reject", "ungraded"]))

    @post_load
    def make(self, data: dict[str, Any], **_: Any) -> ScoreConversion:
        return ScoreConversion(
            cuts=tuple(CutScore(c["min_percent"], c["level"]) for c in data["cuts"]),
            scale_scored_max=data["scale_scored_max"],
            text_levels=dict(data["text_levels"]),
            extra_credit=data["extra_credit"],
            without_maximum=data["without_maximum"],
        )


class SourceSchema(Schema):
    """Common source fields; everything else is the adapter's own options."""

    class Meta:
        unknown = EXCLUDE

    #: The source's key in jobs, records and rejections.
    key = fields.String(required=True, validate=KEY)
    #: Which adapter reads it (the sections below).
    kind = fields.String(required=True)
    #: Shown in run reports.
    name = fields.String(load_default="")
    #: What its scores are evidence of.
    evidence = fields.Nested(EvidenceDefaultsSchema, required=True)
    #: How its scores become levels.
    score_conversion = fields.Nested(ConversionSchema, required=True)


class DestinationSchema(Schema):
    class Meta:
        unknown = EXCLUDE

    #: The destination's key in jobs and push commands.
    key = fields.String(required=True, validate=KEY)
    #: Which adapter writes it (the sections below).
    kind = fields.String(required=True)
    #: Shown in run reports.
    name = fields.String(load_default="")
    #: When a push is held for a person to release.
    hold = fields.Nested(HoldSchema, load_default=lambda: HoldSchema().load({}))


class JobSchema(Strict):
    #: The job's key (connector sync run KEY).
    key = fields.String(required=True, validate=KEY)
    #: sync (pull, map, compute, push), transcripts (working copies to a folder) or
    #: delivery (issued transcripts to `transcript.delivery`'s targets).
    kind = fields.String(load_default="sync", validate=validate.OneOf(
        ["sync", "transcripts", "delivery"]))
    #: A cron expression in the district's time zone; none: run by hand.
    schedule = fields.String(load_default=None)
    #: Framework keys to import first.
    frameworks = fields.List(fields.String(), load_default=list)
    #: Source keys to read.
    sources = fields.List(fields.String(), load_default=list)
    #: Destination keys to push to.
    destinations = fields.List(fields.String(), load_default=list)
    #: Job options (transcripts: students, output folder).
    options = fields.Dict(keys=fields.String(), values=fields.Raw(), load_default=dict)
    #: A run missed by less than this (the machine was off) runs at start-up.
    catch_up_hours = fields.Float(load_default=12.0, validate=validate.Range(min=0, max=24 * 31))
    #: Status reports the job stale when its last success is older than this.
    stale_after_hours = fields.Float(load_default=None, allow_none=True,
                                     validate=validate.Range(min=0.1))

    @validates("schedule")
    def check_schedule(self, value: str | None, **_: Any) -> None:
        check_cron(value)

    @post_load
    def make(self, data: dict[str, Any], **_: Any) -> JobConfig:
        return JobConfig(
            key=data["key"],
            kind=data["kind"],
            schedule=data["schedule"],
            frameworks=tuple(data["frameworks"]),
            sources=tuple(data["sources"]),
            destinations=tuple(data["destinations"]),
            options=data["options"],
            catch_up_hours=data["catch_up_hours"],
            stale_after_hours=data["stale_after_hours"],
        )


def make_source(common: dict[str, Any], options: dict[str, Any]) -> SourceConfig:
    return SourceConfig(
        key=common["key"],
        kind=common["kind"],
        name=common["name"] or common["key"],
        options=options,
        evidence=common["evidence"],
        conversion=common["score_conversion"],
    )


def make_destination(common: dict[str, Any], options: dict[str, Any]) -> DestinationConfig:
    return DestinationConfig(
        key=common["key"], kind=common["kind"], name=common["name"] or common["key"],
        options=options, hold=common["hold"],
    )
