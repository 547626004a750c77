"""Schemas for running unattended: ``alerts`` in ``district.yaml``, ``hold`` on a destination.

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
    RetentionSettings,
    Unhealthy,
    WebhookChannel,
)


class _Strict(Schema):
    class Meta:
        unknown = RAISE


class EmailSchema(_Strict):
    host = fields.String(required=True)
    port = fields.Integer(load_default=587, validate=validate.Range(min=1, max=65535))
    security = fields.String(load_default="starttls",
                             validate=validate.OneOf(["starttls", "ssl", "none"]))
    username = SecretRef(load_default=None)
    password = SecretRef(load_default=None)
    sender = fields.Email(required=True)
    to = fields.List(fields.Email(), required=True, validate=validate.Length(min=1))
    timeout = fields.Float(load_default=10.0, validate=validate.Range(min=0.1, max=120))

    @post_load
    def make(self, data: dict[str, Any], **_: Any) -> EmailChannel:
        return EmailChannel(**{**data, "to": tuple(data["to"])})


class WebhookSchema(_Strict):
    url = fields.String(required=True)
    headers = fields.Dict(keys=fields.String(), values=SecretRef(), load_default=dict)
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
    email = fields.Nested(EmailSchema, load_default=None)
    webhook = fields.Nested(WebhookSchema, load_default=None)
    on_failure = fields.Boolean(load_default=True)
    rejections_above = fields.Integer(load_default=None, allow_none=True,
                                      validate=validate.Range(min=0))
    stale_after_hours = fields.Float(load_default=26.0, allow_none=True,
                                     validate=validate.Range(min=0.1))
    on_push_held = fields.Boolean(load_default=True)
    digest = fields.String(load_default=None, allow_none=True, validate=check_cron)
    unhealthy = fields.List(fields.String(validate=validate.OneOf(get_args(Unhealthy))),
                            load_default=lambda: ["failed", "stale"])

    @post_load
    def make(self, data: dict[str, Any], **_: Any) -> AlertSettings:
        return AlertSettings(**{**data, "unhealthy": tuple(data["unhealthy"])})


class RetentionSchema(_Strict):
    events_days = fields.Integer(load_default=None, allow_none=True,
                                 validate=validate.Range(min=1))
    rejections_days = fields.Integer(load_default=None, allow_none=True,
                                     validate=validate.Range(min=1))
    raw_scores_days = fields.Integer(load_default=None, allow_none=True,
                                     validate=validate.Range(min=1))

    @post_load
    def make(self, data: dict[str, Any], **_: Any) -> RetentionSettings:
        return RetentionSettings(**data)


class HoldSchema(_Strict):
    enabled = fields.Boolean(load_default=True)
    max_change_share = fields.Float(load_default=0.2, validate=validate.Range(min=0, max=1))
    max_lowered = fields.Integer(load_default=None, allow_none=True, validate=validate.Range(min=0))
    min_records = fields.Integer(load_default=100, validate=validate.Range(min=0))

    @post_load
    def make(self, data: dict[str, Any], **_: Any) -> HoldRules:
        return HoldRules(**data)
