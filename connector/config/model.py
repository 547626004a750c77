"""The validated configuration, as plain frozen objects the rest of the code reads."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from connector.config.secrets import expand_references
from connector.domain.scale import ProficiencyScale
from connector.mapping.alignment import EvidenceDefaults
from connector.mapping.crosswalk import CrosswalkEntry
from connector.mapping.normalise import ScoreConversion
from connector.mastery.placement import PlacementRule
from connector.mastery.policy import MasteryPolicy
from connector.mastery.progress import PaceRules
from connector.mastery.rollup import RollupRule

JobKind = Literal["sync", "transcripts", "delivery"]


@dataclass(frozen=True)
class FrameworkSource:
    """Where a framework's CASE package comes from, and how the district uses it."""

    key: str
    location: str
    kind: str = "academic"
    token: str | None = None  # an environment reference, never a value


@dataclass(frozen=True)
class MasterySettings:
    """The district's policy with its framework and competency overrides.

    ``overrides`` are complete policies keyed by framework key. ``competency_changes``
    hold the settings a competency overrides, keyed by CASE identifier or human coding
    scheme, and apply on top of the policy of the competency's framework.
    """

    default: MasteryPolicy
    overrides: Mapping[str, MasteryPolicy] = field(default_factory=dict)
    competency_changes: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)

    def for_framework(self, framework_key: str) -> MasteryPolicy:
        return self.overrides.get(framework_key, self.default)

    def for_competency(self, framework_key: str, identifier: str, code: str = "") -> MasteryPolicy:
        """The policy for one competency: district, then framework, then competency settings."""
        base = self.for_framework(framework_key)
        changes = self.competency_changes.get(identifier)
        if changes is None and code:
            changes = self.competency_changes.get(code)
        return base.merged(changes) if changes else base

    def all_policies(self) -> list[tuple[str, MasteryPolicy]]:
        """Every configured policy with where it is set (for cross-checks against the scale)."""
        found = [("default", self.default)]
        found += [(f"framework_overrides.{k}", p) for k, p in sorted(self.overrides.items())]
        found += [(f"competency_overrides.{k}", self.default.merged(c))
                  for k, c in sorted(self.competency_changes.items())]
        return found


@dataclass(frozen=True)
class RollupSettings:
    """Which parents are rolled up from their children, and by which rule.

    ``frameworks`` gives the rule for every parent in a framework; ``competencies``
    (keyed by CASE identifier or code) overrides it for one parent. A framework with
    no rule keeps its parents' own evidence.
    """

    frameworks: Mapping[str, RollupRule] = field(default_factory=dict)
    competencies: Mapping[str, RollupRule] = field(default_factory=dict)

    def rule_for(self, framework_key: str, identifier: str, code: str = "") -> RollupRule | None:
        rule = self.competencies.get(identifier) or (self.competencies.get(code) if code else None)
        return rule or self.frameworks.get(framework_key)


@dataclass(frozen=True)
class DomainConfig:
    """A content area for levels and pace: its levels, lowest first, as competency patterns.

    A pattern is a CASE identifier or code, or a code prefix ending in ``*``.
    """

    key: str
    title: str
    levels: tuple[tuple[str, tuple[str, ...]], ...]
    graduation_level: str | None = None
    #: The roster grades ("06") measured in the domain; empty: every grade.
    grades: tuple[str, ...] = ()


@dataclass(frozen=True)
class CourseCredit:
    """A course whose credit is earned by mastery; competencies default to those it assesses."""

    course: str
    credits: float = 1.0
    competencies: tuple[str, ...] = ()


@dataclass(frozen=True)
class ProgressSettings:
    pace: PaceRules = field(default_factory=PaceRules)
    domains: tuple[DomainConfig, ...] = ()
    courses: tuple[CourseCredit, ...] = ()
    #: Diagnostics that set a student's starting level per domain ("leveling").
    placement: tuple[PlacementRule, ...] = ()


@dataclass(frozen=True)
class GpaRow:
    level_code: str
    gpa: float


@dataclass(frozen=True)
class SchoolProfile:
    """What page 1 of a transcript says about a school that the roster does not."""

    address: str = ""
    ceeb: str = ""
    phone: str = ""
    registrar: str = ""
    #: The letter's texts for this school, when they differ from the district's.
    school_profile: str = ""
    graduation_requirements: str = ""
    #: Credits a diploma needs per subject; empty: page 1 counts credits only.
    graduation_credits: Mapping[str, float] = field(default_factory=dict)


@dataclass(frozen=True)
class DeliveryTarget:
    """Where issued transcripts are handed over: a folder, or a transcript service's SFTP.

    ``password`` is an environment reference; paths are relative to the configuration's
    folder.
    """

    key: str
    kind: str  # folder, sftp
    folder: str
    formats: tuple[str, ...] = ("pdf", "pesc")
    host: str = ""
    port: int = 22
    username: str = ""
    password: str | None = None
    private_key_file: str = ""
    known_hosts: str = ""


@dataclass(frozen=True)
class CredentialSettings:
    """Who signs the district's transcript credentials, with which key, published where.

    ``signing_key_file`` is an environment reference whose value is the path of the
    Ed25519 key (PEM); the key itself never sits in configuration.
    """

    issuer_id: str
    public_url: str
    signing_key_file: str
    issuer_name: str = ""
    issuer_url: str = ""
    issuer_email: str = ""


@dataclass(frozen=True)
class TranscriptSettings:
    """What the explanatory letter says about the school, beyond the computed rules."""

    school_profile: str = ""
    graduation_requirements: str = ""
    habits_note: str = ""
    signatory_name: str = ""
    signatory_title: str = ""
    contact: str = ""
    gpa_translation: tuple[GpaRow, ...] = ()
    credential: CredentialSettings | None = None
    schools: dict[str, SchoolProfile] = field(default_factory=dict)
    performance_snapshot: bool = False
    delivery: tuple[DeliveryTarget, ...] = ()
    #: The SIS's transfer-credit file ("" for none).
    transfer_credit: str = ""


@dataclass(frozen=True)
class EmailChannel:
    """Alerts by email over SMTP; the login is a pair of environment references."""

    host: str
    sender: str
    to: tuple[str, ...]
    port: int = 587
    security: Literal["starttls", "ssl", "none"] = "starttls"
    username: str | None = None  # an environment reference
    password: str | None = None  # an environment reference
    timeout: float = 10.0


@dataclass(frozen=True)
class WebhookChannel:
    """Alerts as a JSON POST; the URL may itself be a secret (chat webhooks carry one)."""

    url: str  # an https URL, or an environment reference holding one
    headers: Mapping[str, str] = field(default_factory=dict)  # values: environment references
    timeout: float = 10.0


#: What can make the status endpoint answer 503.
Unhealthy = Literal["failed", "stale", "interrupted", "never_run", "held"]


@dataclass(frozen=True)
class AlertSettings:
    """When IT staff hear from the connector, and through which channels.

    Alerts carry ids, counts and the first reason a run gave; never a student's
    name or any record's content.
    """

    email: EmailChannel | None = None
    webhook: WebhookChannel | None = None
    on_failure: bool = True
    #: Alert when one run rejects more records than this (None: never for rejections).
    rejections_above: int | None = None
    #: A scheduled job is stale when it has not succeeded for this long (None: never).
    stale_after_hours: float | None = 26.0
    on_push_held: bool = True
    #: Cron (in the district's time zone) for a daily summary of every job; None: none.
    digest: str | None = None
    unhealthy: tuple[str, ...] = ("failed", "stale")

    @property
    def channels(self) -> tuple[str, ...]:
        return tuple(name for name, channel in (("email", self.email), ("webhook", self.webhook))
                     if channel is not None)


@dataclass(frozen=True)
class RetentionSettings:
    """How long copies of what vendors sent are kept (days; None keeps them).

    Only what no record depends on is removed: learning events a sync has read
    (their scores stay), rejections of old runs, and raw scores that became no
    evidence. Evidence and mastery records are kept: they are the student's record.
    """

    events_days: int | None = None
    rejections_days: int | None = None
    raw_scores_days: int | None = None

    @property
    def active(self) -> bool:
        return any(v is not None for v in (self.events_days, self.rejections_days,
                                           self.raw_scores_days))


@dataclass(frozen=True)
class OidcSettings:
    """Single sign-on with the district's OpenID Connect provider (Google, Entra...)."""

    metadata_url: str
    client_id: str
    client_secret: str  # an environment reference
    label: str = "Sign in with your school account"
    email_claim: str = "email"
    require_verified_email: bool = True
    scopes: tuple[str, ...] = ("openid", "email", "profile")


@dataclass(frozen=True)
class SignInSettings:
    oidc: OidcSettings | None = None


@dataclass(frozen=True)
class ReportSettings:
    """How aggregate reports protect small groups of students.

    A group smaller than ``min_group`` is neither drawn nor counted in any report,
    page or download: a count of three in a school points at named students.
    """

    min_group: int = 10


@dataclass(frozen=True)
class DistrictConfig:
    key: str
    name: str
    scale: ProficiencyScale
    mastery: MasterySettings
    frameworks: tuple[FrameworkSource, ...]
    dok_patterns: tuple[str, ...]
    transcript: TranscriptSettings
    api_token: str | None = None  # an environment reference
    #: Token for API calls that change records (teacher overrides); read tokens cannot.
    api_write_token: str | None = None  # an environment reference
    timezone: str = "UTC"
    rollups: RollupSettings = field(default_factory=RollupSettings)
    progress: ProgressSettings = field(default_factory=ProgressSettings)
    alerts: AlertSettings = field(default_factory=AlertSettings)
    retention: RetentionSettings = field(default_factory=RetentionSettings)
    sign_in: SignInSettings = field(default_factory=SignInSettings)
    reports: ReportSettings = field(default_factory=ReportSettings)


@dataclass(frozen=True)
class SourceConfig:
    key: str
    kind: str
    name: str
    options: Mapping[str, Any]
    evidence: EvidenceDefaults
    conversion: ScoreConversion


@dataclass(frozen=True)
class HoldRules:
    """When a push is too large to send without a person looking at it first.

    A push is held when it would update or delete more than ``max_change_share``
    of the records the destination holds (once it holds ``min_records``), or
    lower the level of more than ``max_lowered`` results. New records never
    count: a first push is never held.
    """

    enabled: bool = True
    max_change_share: float = 0.2
    max_lowered: int | None = None
    min_records: int = 100


@dataclass(frozen=True)
class DestinationConfig:
    key: str
    kind: str
    name: str
    options: Mapping[str, Any]
    hold: HoldRules = field(default_factory=HoldRules)


@dataclass(frozen=True)
class JobConfig:
    key: str
    kind: JobKind
    schedule: str | None
    frameworks: tuple[str, ...] = ()
    sources: tuple[str, ...] = ()
    destinations: tuple[str, ...] = ()
    options: Mapping[str, Any] = field(default_factory=dict)
    #: A run missed while no scheduler was running is made up on start if it was due
    #: less than this many hours ago; older ones are let go.
    catch_up_hours: float = 12.0
    #: Stale when it has not succeeded for this long; None: the district's alert setting
    #: for scheduled jobs, never for unscheduled ones.
    stale_after_hours: float | None = None


@dataclass(frozen=True)
class Settings:
    """Everything configured for one district, with the version every run records."""

    district: DistrictConfig
    sources: Mapping[str, SourceConfig]
    destinations: Mapping[str, DestinationConfig]
    jobs: Mapping[str, JobConfig]
    crosswalk: tuple[CrosswalkEntry, ...]
    base_dir: Path
    version: str

    def resolve_path(self, value: str) -> Path:
        """Config paths are relative to the directory that holds the config folder."""
        path = Path(expand_references(value))
        return path if path.is_absolute() else (self.base_dir / path)
