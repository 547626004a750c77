"""Who the caller is, and the district's people, roles and machine tokens.

What the web application's menus read (``/me``) and its district admin pages write:
accounts made, disabled and enabled, one-time passwords, roles granted and revoked,
tokens made and revoked. Every write is the service the CLI uses, so each is audited
the same way. A password or a token is in the answer that makes it and nowhere else.
An admin cannot disable their own account or drop their own district admin role from
here: a district must never lock itself out through the API (the CLI still can).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import Response, abort, jsonify
from flask_smorest import Blueprint
from marshmallow import Schema, fields, validate
from sqlalchemy.orm import Session

from connector.api.access import ANYONE, actor, change, district_session, principal
from connector.api.bodies import load
from connector.api.openapi import documented, json_request
from connector.api.schemas import (
    MeSchema,
    RemovalSchema,
    TokenListSchema,
    TokenSchema,
    UserSchema,
    UsersSchema,
)
from connector.domain import roles
from connector.errors import DataError, NotFoundError
from connector.sync import accounts, api_tokens

blueprint = Blueprint("people", __name__, description="The caller, and the district's people, "
                      "roles and machine tokens.")
PREFIX = "/api/v1/districts/<key>"
ADMIN_ERRORS = (400, 401, 403, 404, 409, 413, 503)


class NewUserSchema(Schema):
    email = fields.String(required=True, validate=validate.Length(min=3, max=254))
    name = fields.String(load_default="", validate=validate.Length(max=200))
    roster_id = fields.String(load_default="", validate=validate.Length(max=255), metadata={
        "description": "The person's staff sourcedId in the roster (a teacher's classes "
                       "come from it; found by email when left out)."})
    sign_in = fields.String(load_default="password", validate=validate.OneOf(
        ["password", "sso"]), metadata={"description": "password: a one-time password is "
                                        "in this answer, once; sso: single sign-on only."})


class ReasonSchema(Schema):
    reason = fields.String(load_default="", validate=validate.Length(max=2000))


class RoleSchema(Schema):
    role = fields.String(required=True, validate=validate.OneOf(roles.ROLES))
    school = fields.String(load_default="", validate=validate.Length(max=255), metadata={
        "description": "The school (org sourcedId) of a school_leader or viewer role."})
    roster_id = fields.String(load_default=None, allow_none=True,
                              validate=validate.Length(min=1, max=255))


class NewTokenSchema(Schema):
    name = fields.String(required=True, validate=validate.Length(min=1, max=120))
    scopes = fields.List(fields.String(validate=validate.Length(min=1, max=80)),
                         required=True, validate=validate.Length(min=1, max=10),
                         metadata={"description": "read, write, admin or intake:<source>."})
    days = fields.Integer(load_default=None, allow_none=True,
                          validate=validate.Range(min=1, max=3660))
    user = fields.String(load_default=None, allow_none=True,
                         validate=validate.Length(min=3, max=254), metadata={
                             "description": "An account's email: the token acts with that "
                                            "person's roles, capped by its scopes."})


class OneTimePasswordSchema(UserSchema):
    one_time_password = fields.String(allow_none=True, metadata={
        "description": "Shown once: give it to the person, who should change it."})


def _once(body: dict[str, Any], status: int) -> Response:
    """An answer holding a password or a token: no cache of any kind may keep it."""
    response = jsonify(body)
    response.status_code = status
    response.headers["Cache-Control"] = "no-store"
    return response


def _body(schema: Schema) -> dict[str, Any]:
    return load(schema, max_bytes=16 * 1024)


def _user_row(session: Any, email: str) -> dict[str, Any]:
    key = accounts.normal_email(email)
    found = [u for u in accounts.list_users(session) if u["email"] == key]
    if not found:
        raise NotFoundError(f"no account {email[:80]!r} in this district")
    return dict(UserSchema().dump(found[0]))


def _refuse_self(email: str, what: str) -> None:
    me = principal()
    if me.grants is not None and me.actor == f"user:{accounts.normal_email(email)}":
        abort(409, description=f"you may not {what} your own account here: another district "
                               f"admin, or `connector users` on the server, can")


def _admin(write: Any) -> Any:
    """Run an account change: 400 for bad input, 404 for an unknown account or token."""
    try:
        return write()
    except NotFoundError as exc:
        abort(404, description=exc.message)
    except DataError as exc:
        abort(400, description=exc.message)


@blueprint.get(f"{PREFIX}/me")
@blueprint.response(200, MeSchema)
@documented(need=ANYONE, read=True)
def me(key: str) -> Any:
    """The caller: a person or a service, its roles, permissions and taught classes."""
    _, session = district_session(key)
    return jsonify(district=key, **principal().as_dict(session))


@blueprint.get(f"{PREFIX}/users")
@blueprint.response(200, UsersSchema)
@documented(need=roles.USERS_ADMIN, read=True)
def users(key: str) -> Any:
    """The district's accounts with their roles (never a password or its hash)."""
    _, session = district_session(key)
    return jsonify(users=UserSchema(many=True).dump(accounts.list_users(session)))


@blueprint.post(f"{PREFIX}/users")
@blueprint.response(201, OneTimePasswordSchema)
@documented(need=roles.USERS_ADMIN, errors=ADMIN_ERRORS, **json_request(NewUserSchema))
def create_user(key: str) -> Any:
    """Make an account with no roles yet (audited); a one-time password is in the answer."""
    _, session = district_session(key)
    given = _body(NewUserSchema())
    password = accounts.new_password() if given["sign_in"] == "password" else None

    def write() -> dict[str, Any]:
        with change(session):
            user = accounts.create_user(session, given["email"], name=given["name"],
                                        by=actor(), password=password,
                                        roster_id=given["roster_id"])
            return _user_row(session, user.email)
    made = _admin(write)
    return _once({**made, "one_time_password": password}, 201)


def _account_change(key: str, email: str, schema: Schema,
                    act: Callable[[Session, dict[str, Any]], object],
                    refuse_self: Callable[[dict[str, Any]], str] | None = None) -> dict[str, Any]:
    """One change to an account, in one transaction; the account as it is after it.

    ``refuse_self`` names what the caller may not do to their own account with this
    body (or gives "" when the body is harmless).
    """
    _, session = district_session(key)
    given = _body(schema)
    what = refuse_self(given) if refuse_self else ""
    if what:
        _refuse_self(email, what)

    def write() -> dict[str, Any]:
        with change(session):
            act(session, given)
            return _user_row(session, email)
    found: dict[str, Any] = _admin(write)
    return found


@blueprint.post(f"{PREFIX}/users/<email>/disable")
@blueprint.response(200, UserSchema)
@documented(need=roles.USERS_ADMIN, errors=ADMIN_ERRORS, **json_request(ReasonSchema))
def disable_user(key: str, email: str) -> Any:
    """Disable an account: it is signed out everywhere and its tokens stop (audited)."""
    return jsonify(_account_change(key, email, ReasonSchema(), lambda session, given: (
        accounts.set_active(session, email, False, by=actor(), reason=given["reason"])),
        refuse_self=lambda _: "disable"))


@blueprint.post(f"{PREFIX}/users/<email>/enable")
@blueprint.response(200, UserSchema)
@documented(need=roles.USERS_ADMIN, errors=ADMIN_ERRORS, **json_request(ReasonSchema))
def enable_user(key: str, email: str) -> Any:
    """Enable an account again (audited)."""
    return jsonify(_account_change(key, email, ReasonSchema(), lambda session, given: (
        accounts.set_active(session, email, True, by=actor(), reason=given["reason"]))))


@blueprint.post(f"{PREFIX}/users/<email>/password")
@blueprint.response(200, OneTimePasswordSchema)
@documented(need=roles.USERS_ADMIN, errors=ADMIN_ERRORS, **json_request(ReasonSchema))
def reset_password(key: str, email: str) -> Any:
    """A new one-time password, in this answer only; every session of the account ends."""
    password = accounts.new_password()
    row = _account_change(key, email, ReasonSchema(), lambda session, _: (
        accounts.reset_password(session, email, password, by=actor())))
    return _once({**row, "one_time_password": password}, 200)


@blueprint.post(f"{PREFIX}/users/<email>/roles")
@blueprint.response(200, UserSchema)
@documented(need=roles.USERS_ADMIN, errors=ADMIN_ERRORS, **json_request(RoleSchema))
def grant_role(key: str, email: str) -> Any:
    """Grant a role (a school role names a roster school; a teacher is a roster person)."""
    return jsonify(_account_change(key, email, RoleSchema(), lambda session, given: (
        accounts.grant(session, email, given["role"], given["school"], by=actor(),
                       roster_id=given["roster_id"]))))


@blueprint.delete(f"{PREFIX}/users/<email>/roles")
@blueprint.response(200, UserSchema)
@documented(need=roles.USERS_ADMIN, errors=ADMIN_ERRORS, **json_request(RoleSchema))
def revoke_role(key: str, email: str) -> Any:
    """Revoke a role the account holds (audited)."""
    return jsonify(_account_change(key, email, RoleSchema(), lambda session, given: (
        accounts.revoke(session, email, given["role"], given["school"], by=actor())),
        refuse_self=lambda given: "revoke district_admin from"
        if given["role"] == roles.DISTRICT_ADMIN else ""))


@blueprint.get(f"{PREFIX}/tokens")
@blueprint.response(200, TokenListSchema)
@documented(need=roles.USERS_ADMIN, read=True)
def list_tokens(key: str) -> Any:
    """The district's machine tokens: names, scopes, expiry, last use (never a token)."""
    _, session = district_session(key)
    return jsonify(tokens=TokenSchema(many=True).dump(api_tokens.list_tokens(session)))


@blueprint.post(f"{PREFIX}/tokens")
@blueprint.response(201, TokenSchema)
@documented(need=roles.USERS_ADMIN, errors=ADMIN_ERRORS, **json_request(NewTokenSchema))
def create_token(key: str) -> Any:
    """Make a token: it is in this answer once, and only its hash is kept (audited)."""
    _, session = district_session(key)
    given = _body(NewTokenSchema())

    def write() -> dict[str, Any]:
        with change(session):
            made = api_tokens.make_token(session, name=given["name"], scopes=given["scopes"],
                                         by=actor(), days=given["days"], user=given["user"])
            row = next(t for t in api_tokens.list_tokens(session) if t["id"] == made.id)
            return {**TokenSchema().dump(row), "token": made.token}
    return _once(_admin(write), 201)


@blueprint.delete(f"{PREFIX}/tokens/<int:token_id>")
@blueprint.response(200, TokenSchema)
@documented(need=roles.USERS_ADMIN, errors=ADMIN_ERRORS, **json_request(RemovalSchema))
def revoke_token(key: str, token_id: int) -> Any:
    """Revoke a token, with the reason: it stops at once (audited)."""
    _, session = district_session(key)
    reason = _body(RemovalSchema())["reason"]

    def write() -> dict[str, Any]:
        with change(session):
            api_tokens.revoke_token(session, token_id, by=actor(), reason=reason)
            return dict(TokenSchema().dump(next(t for t in api_tokens.list_tokens(session)
                                                if t["id"] == token_id)))
    return jsonify(_admin(write))
