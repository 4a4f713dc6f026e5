"""Callers from the authorizer context API Gateway puts in the event (IAM, JWT), and the local stand-in."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest
from agentcron.api.auth import caller_of
from agentcron.api.errors import ApiError

from agentcron.local.http import jwt_authorizer, jwt_claims


def _event(authorizer: dict[str, Any] | None) -> dict[str, Any]:
    context: dict[str, Any] = {"http": {"method": "GET"}}
    if authorizer is not None:
        context["authorizer"] = authorizer
    return {"version": "2.0", "requestContext": context}


def _jwt(claims: dict[str, Any], scopes: list[str] | None) -> dict[str, Any]:
    return _event({"jwt": {"claims": claims, "scopes": scopes}})


def token(claims: dict[str, Any]) -> str:
    def part(value: dict[str, Any]) -> str:
        return base64.urlsafe_b64encode(json.dumps(value).encode()).decode().rstrip("=")

    return f"{part({'alg': 'none'})}.{part(claims)}.signature"


def test_iam_mode_makes_the_invoking_principal_an_administrator_of_every_project() -> None:
    arn = "arn:aws:iam::123456789012:user/ops"
    caller = caller_of(_event({"iam": {"userArn": arn, "callerId": "AIDA"}}), "IAM")
    assert (caller.principal, caller.is_admin, caller.can_write) == (arn, True, True)
    assert caller_of(_event(None), "IAM").principal == "local"  # the local stack without --auth jwt


def test_jwt_mode_reads_projects_and_scopes_from_the_token() -> None:
    writer = caller_of(_jwt({"sub": "u1", "agentcron_projects": "[ops reports]"}, ["agentcron/write"]), "JWT")
    assert (writer.principal, writer.projects, writer.can_write) == (
        "u1",
        frozenset({"ops", "reports"}),
        True,
    )
    reader = caller_of(_jwt({"sub": "u2", "agentcron_projects": '["ops"]'}, ["agentcron/read"]), "JWT")
    assert (reader.projects, reader.can_write) == (frozenset({"ops"}), False)
    admin = caller_of(_jwt({"client_id": "svc", "agentcron_projects": "*"}, ["agentcron/write"]), "JWT")
    assert (admin.principal, admin.is_admin) == ("svc", True)
    nothing = caller_of(_jwt({"sub": "u3"}, ["agentcron/read"]), "JWT")
    assert nothing.projects == frozenset()
    # scopes from the claim when the authorizer gave no list
    claimed = caller_of(_jwt({"sub": "u4", "scope": "openid agentcron/write"}, None), "JWT")
    assert claimed.can_write


def test_jwt_mode_without_a_token_is_401_and_without_a_scope_403() -> None:
    with pytest.raises(ApiError) as missing:
        caller_of(_event(None), "JWT")
    assert missing.value.status == 401
    with pytest.raises(ApiError) as iam_only:
        caller_of(_event({"iam": {"userArn": "arn"}}), "JWT")  # IAM context does not count in JWT mode
    assert iam_only.value.status == 401
    with pytest.raises(ApiError) as unscoped:
        caller_of(_jwt({"sub": "u", "agentcron_projects": "*"}, ["openid"]), "JWT")
    assert unscoped.value.status == 403


def test_the_local_stand_in_passes_claims_and_scopes_as_api_gateway_does_without_verifying() -> None:
    raw = token({"sub": "u1", "agentcron_projects": ["ops", "reports"], "scope": "agentcron/read", "exp": 1})
    authorizer = jwt_authorizer([("Authorization", f"Bearer {raw}")])
    assert authorizer == {
        "jwt": {
            "claims": {
                "sub": "u1",
                "agentcron_projects": "[ops reports]",
                "scope": "agentcron/read",
                "exp": "1",  # expired long ago: nothing is verified locally
            },
            "scopes": ["agentcron/read"],
        }
    }
    caller = caller_of(_event(authorizer), "JWT")
    assert (caller.projects, caller.can_write) == (frozenset({"ops", "reports"}), False)
    assert jwt_authorizer([]) is None
    assert jwt_authorizer([("authorization", "Basic abc")]) is None
    assert jwt_authorizer([("Authorization", "Bearer not-a-jwt")]) is None
    assert jwt_claims("a.b") is None
