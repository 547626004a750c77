"""Schemas for running unattended and signing in: ``alerts``, ``retention``, ``sign_in``, ``hold``.

::

    alerts:
      email:
        host: smtp.cedar-ridge.example
        port: 587
        security: starttls             # starttls | ssl | none
        username: ${SMTP_USER}
        password: ${SMTP_PASSWORD}
        sender: connector@cedar-ridge.example
        to: [it-alerts@cedar-ridge.example]
      webhook:
        url: ${ALERT_WEBHOOK_URL}
        headers: {Authorization: "${ALERT_WEBHOOK_AUTH}"}
      on_failure: true
      rejections_above: 100
      stale_after_hours: 26
      digest: "0 7 * * *"
      unhealthy: [failed, stale]

    retention:                       # days; absent keeps for ever
      events_days: 400                 # xAPI/Caliper payloads a sync has read
      rejections_days: 180             # rejection rows of older runs
      raw_scores_days: 730             # raw scores that became no evidence

    sign_in:
      oidc:                            # single sign-on; accounts are still made by an admin
        metadata_url: https://accounts.google.com/.well-known/openid-configuration
        client_id: 1234-abc.apps.googleusercontent.com
        client_secret: ${GOOGLE_OIDC_SECRET}
        label: Sign in with Google

    destinations:
      - key: sis-results
        hold: {max_change_share: 0.2, max_lowered: 200, min_records: 100}
"""

from __future__ import annotations

from typing import Any, get_args

from marshmallow import RAISE, Schema, ValidationError, fields, post_load, validate, validates

from connector.adapters.options import SecretRef, is_env_reference
from connector.config.cron import check_cron
from connector.config.model import (
    AlertSettings,
    EmailChannel,
    HoldRules,
    OidcSettings,
    ReportSettings,
    RetentionSettings,
    SignInSettings,
    Unhealthy,
    WebhookChannel,
)


class _Strict(Schema):
    class Meta:
        unknown = RAISE


class EmailSchema(_Strict):
    #: The SMTP server alerts are sent through.
    host = fields.String(required=True)
    #: The SMTP server's port.
    port = fields.Integer(load_default=587, validate=validate.Range(min=1, max=65535))
    #: starttls: connect, then switch to TLS; ssl: TLS from the start; none: unencrypted.
    security = fields.String(load_default="starttls",
                             validate=validate.OneOf(["starttls", "ssl", "none"]))
    #: The SMTP login name; without it the connector sends without logging in.
    username = SecretRef(load_default=None)
    #: The SMTP password, used with username.
    password = SecretRef(load_default=None)
    #: The From address of alert emails.
    sender = fields.Email(required=True)
    #: Who receives alert emails.
    to = fields.List(fields.Email(), required=True, validate=validate.Length(min=1))
    #: Seconds to wait for the mail server; an alert not delivered is tried again later.
    timeout = fields.Float(load_default=10.0, validate=validate.Range(min=0.1, max=120))

    @post_load
    def make(self, data: dict[str, Any], **_: Any) -> EmailChannel:
        return EmailChannel(**{**data, "to": tuple(data["to"])})


class WebhookSchema(_Strict):
    #: Where alerts are POSTed as JSON: an http(s) URL, or an environment reference holding
    #: one (a chat webhook URL carries its own secret).
    url = fields.String(required=True)
    #: HTTP headers sent with each alert, such as Authorization; values are environment
    #: references.
    headers = fields.Dict(keys=fields.String(), values=SecretRef(), load_default=dict)
    #: Seconds to wait for the webhook to answer; an alert not delivered is tried again later.
    timeout = fields.Float(load_default=10.0, validate=validate.Range(min=0.1, max=120))

    @validates("url")
    def check_url(self, value: str, **_: Any) -> None:
        if is_env_reference(value):
            return
        try:
            fields.Url(require_tld=False, schemes={"http", "https"}).deserialize(value)
        except ValidationError:
            raise ValidationError(f"{value!r} is not an http(s) URL or an environment reference "
                                  f"like ${{ALERT_WEBHOOK_URL}}") from None

    @post_load
    def make(self, data: dict[str, Any], **_: Any) -> WebhookChannel:
        return WebhookChannel(**data)


class AlertsSchema(_Strict):
    #: Send alerts by email over SMTP.
    email = fields.Nested(EmailSchema, load_default=None)
    #: Send alerts as a JSON POST, e.g. to a Slack or Teams webhook. With email too, each
    #: alert goes both ways.
    webhook = fields.Nested(WebhookSchema, load_default=None)
    #: Alert when a run fails.
    on_failure = fields.Boolean(load_default=True)
    #: Alert when one run rejects more records than this. Empty: no alert for rejections.
    rejections_above = fields.Integer(load_default=None, allow_none=True,
                                      validate=validate.Range(min=0))
    #: A scheduled job with no successful run for this many hours is stale: an alert, and
    #: stale in the status. A job's own stale_after_hours wins; null turns it off.
    stale_after_hours = fields.Float(load_default=26.0, allow_none=True,
                                     validate=validate.Range(min=0.1))
    #: Alert when a push is held for review by its destination's hold rules.
    on_push_held = fields.Boolean(load_default=True)
    #: A cron schedule, in the district's time zone, for a summary of every job (at most one
    #: a day). Empty: no summary.
    digest = fields.String(load_default=None, allow_none=True, validate=check_cron)
    #: The job conditions that make the status endpoint answer 503, for uptime monitors.
    unhealthy = fields.List(fields.String(validate=validate.OneOf(get_args(Unhealthy))),
                            load_default=lambda: ["failed", "stale"])

    @post_load
    def make(self, data: dict[str, Any], **_: Any) -> AlertSettings:
        return AlertSettings(**{**data, "unhealthy": tuple(data["unhealthy"])})


class RetentionSchema(_Strict):
    #: Days a stored learning event (xAPI statement, Caliper event) is kept after it was
    #: received; older ones a sync has read are deleted, their scores stay. Empty: kept.
    events_days = fields.Integer(load_default=None, allow_none=True,
                                 validate=validate.Range(min=1))
    #: Days the rejections of a run are kept, counted from its start; older ones are
    #: deleted. Empty: kept.
    rejections_days = fields.Integer(load_default=None, allow_none=True,
                                     validate=validate.Range(min=1))
    #: Days a raw score that became no evidence (e.g. its item was never aligned) is kept
    #: after it last changed; older ones are deleted. Empty: kept.
    raw_scores_days = fields.Integer(load_default=None, allow_none=True,
                                     validate=validate.Range(min=1))

    @post_load
    def make(self, data: dict[str, Any], **_: Any) -> RetentionSettings:
        return RetentionSettings(**data)


class ReportsSchema(_Strict):
    #: Groups of fewer students than this are neither drawn nor counted in any report,
    #: page or download (progress, equity, content impact). Student privacy guidance
    #: (NCES, FERPA) commonly uses 10.
    min_group = fields.Integer(load_default=10, validate=validate.Range(min=1))

    @post_load
    def make(self, data: dict[str, Any], **_: Any) -> ReportSettings:
        return ReportSettings(**data)


class HoldSchema(_Strict):
    #: false: pushes to this destination are never held.
    enabled = fields.Boolean(load_default=True)
    #: Hold a push that would update or delete more than this share (0..1) of the results
    #: already sent to the destination; 0.2 is 20%. New records never count.
    max_change_share = fields.Float(load_default=0.2, validate=validate.Range(min=0, max=1))
    #: Hold a push that would lower the level of more than this many results. Empty: no
    #: limit.
    max_lowered = fields.Integer(load_default=None, allow_none=True, validate=validate.Range(min=0))
    #: max_change_share applies only once this many results have been sent to the
    #: destination.
    min_records = fields.Integer(load_default=100, validate=validate.Range(min=0))

    @post_load
    def make(self, data: dict[str, Any], **_: Any) -> HoldRules:
        return HoldRules(**data)


class OidcSchema(_Strict):
    #: The provider's discovery document (``.../.well-known/openid-configuration``).
    metadata_url = fields.Url(required=True, schemes={"https", "http"})
    #: The client id the provider gave this server.
    client_id = fields.String(required=True, validate=validate.Length(min=1, max=255))
    #: Its client secret, as an environment reference (``${VAR}``).
    client_secret = SecretRef(required=True)
    #: The button's text on the sign-in page.
    label = fields.String(load_default="Sign in with your school account",
                          validate=validate.Length(min=1, max=80))
    #: The ID token claim holding the email an account is found by (Entra ID:
    #: ``preferred_username``). Nobody gets an account by signing in: an admin makes it.
    email_claim = fields.String(load_default="email")
    #: Refuse a sign-in whose ``email_verified`` claim is not true (Google sends it; turn
    #: off for a provider that never does, such as Entra ID).
    require_verified_email = fields.Boolean(load_default=True)
    #: Scopes asked for; ``openid`` must be one.
    scopes = fields.List(fields.String(), load_default=lambda: ["openid", "email", "profile"])

    @validates("scopes")
    def check_scopes(self, value: list[str], **_: Any) -> None:
        if "openid" not in value:
            raise ValidationError("scopes must include openid")

    @post_load
    def make(self, data: dict[str, Any], **_: Any) -> OidcSettings:
        return OidcSettings(**{**data, "scopes": tuple(data["scopes"])})


class SignInSchema(_Strict):
    #: Single sign-on by OpenID Connect; absent: people sign in with passwords only.
    oidc = fields.Nested(OidcSchema, load_default=None, allow_none=True)

    @post_load
    def make(self, data: dict[str, Any], **_: Any) -> SignInSettings:
        return SignInSettings(**data)
