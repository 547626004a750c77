"""Who the caller is, and the district's people: what the web application's menus read."""

from __future__ import annotations

from typing import Any

from flask import jsonify
from flask_smorest import Blueprint

from connector.api.access import ANYONE, district_session, principal
from connector.api.openapi import documented
from connector.api.schemas import MeSchema, UserSchema, UsersSchema
from connector.domain import roles
from connector.sync import accounts

blueprint = Blueprint("people", __name__, description="The caller, and the district's people.")
PREFIX = "/api/v1/districts/<key>"


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
