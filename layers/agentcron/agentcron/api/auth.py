"""Who is calling the API: the authorizer context API Gateway put in the event, turned into a
:class:`~agentcron.domain.access.Caller` (the application layer checks it; nothing here decides access).

``Settings.api_auth`` (the template's ``ApiAuth``) says which context to read:

- ``IAM`` (default): API Gateway let through a SigV4 request of a principal allowed ``execute-api:Invoke``;
  that principal (``requestContext.authorizer.iam.userArn``) administers every project. Without an IAM
  context (the local stack without ``--auth jwt``) the caller is the local administrator ``local``.
- ``JWT``: API Gateway's JWT authorizer verified the token (issuer, audience, expiry) and passed its claims
  and scopes (``requestContext.authorizer.jwt``). The principal is ``sub`` (else ``client_id``); the
  projects are the claim ``agentcron_projects`` (a JSON list, a space-separated string, or API Gateway's
  ``[a b]`` rendering of a list; ``"*"`` = every project); the scope ``agentcron/write`` may change things,
  ``agentcron/read`` only read. No JWT context is a 401; a token with neither scope a 403.
"""

from __future__ import annotations

from http import HTTPStatus
from typing import Any

from agentcron.api.errors import ApiError
from agentcron.domain.access import Caller, parse_projects

PROJECTS_CLAIM = "agentcron_projects"
READ_SCOPE = "agentcron/read"
WRITE_SCOPE = "agentcron/write"
LOCAL_ADMIN = "local"


def _authorizer(event: dict[str, Any]) -> dict[str, Any]:
    context = event.get("requestContext") or {}
    authorizer = context.get("authorizer") if isinstance(context, dict) else None
    return authorizer if isinstance(authorizer, dict) else {}


def scopes_of(jwt: dict[str, Any]) -> set[str]:
    """The token's scopes: API Gateway's ``scopes`` list, else the ``scope`` / ``scp`` claim."""
    scopes = jwt.get("scopes")
    if isinstance(scopes, list):
        return {str(scope) for scope in scopes}
    claims = jwt.get("claims") or {}
    raw = claims.get("scope") or claims.get("scp") or ""
    return set(raw if isinstance(raw, list) else str(raw).strip("[]").split())


def caller_of(event: dict[str, Any], mode: str) -> Caller:
    """The caller of one request; ``ApiError`` 401 (no verified token in JWT mode) or 403 (no scope)."""
    authorizer = _authorizer(event)
    if mode.strip().upper() != "JWT":
        iam = authorizer.get("iam") or {}
        principal = iam.get("userArn") or iam.get("callerId") or iam.get("userId") or LOCAL_ADMIN
        return Caller(str(principal))
    jwt = authorizer.get("jwt")
    if not isinstance(jwt, dict) or not isinstance(jwt.get("claims"), dict):
        raise ApiError(HTTPStatus.UNAUTHORIZED, "Unauthorized: a bearer JWT is required", type="unauthorized")
    claims = jwt["claims"]
    scopes = scopes_of(jwt)
    if not scopes & {READ_SCOPE, WRITE_SCOPE}:
        raise ApiError(
            HTTPStatus.FORBIDDEN,
            f"the token has neither the {READ_SCOPE} nor the {WRITE_SCOPE} scope",
            type="forbidden",
        )
    principal = str(claims.get("sub") or claims.get("client_id") or claims.get("username") or "unknown")
    projects = parse_projects(claims.get(PROJECTS_CLAIM))
    return Caller.of(principal, projects, write=WRITE_SCOPE in scopes)
