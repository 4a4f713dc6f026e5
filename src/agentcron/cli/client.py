"""The CLI's HTTP client: stdlib urllib, optionally SigV4-signed for a deployed stack's IAM-authorised API.

``--stack NAME`` finds the API URL in the CloudFormation stack's ``ApiUrl`` output and signs every request
with the caller's AWS credentials (botocore's ``SigV4Auth``, service ``execute-api``), which is what the
HTTP API's IAM authorizer checks. Without it the client talks plainly to ``--api-url`` (the local stack).
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote, urlencode

USER_AGENT = "agentcron-cli/0.1.0"
DEFAULT_API_URL = "http://127.0.0.1:8787"


class ApiUnreachable(Exception):
    """The API could not be reached (refused, timed out, DNS, TLS): exit code 3."""


class StackLookupFailed(Exception):
    """``--stack`` could not be resolved to an API URL (no such stack, no ApiUrl output, no credentials)."""


@dataclass
class ApiReply:
    status: int
    headers: dict[str, str]
    body: Any = None
    text: str = ""

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300


@dataclass
class SigV4Signer:
    """Signs requests for API Gateway (service ``execute-api``) with botocore."""

    credentials: Any  # botocore Credentials
    region: str
    service: str = "execute-api"

    def headers(self, method: str, url: str, body: bytes | None, headers: dict[str, str]) -> dict[str, str]:
        from botocore.auth import SigV4Auth
        from botocore.awsrequest import AWSRequest

        request = AWSRequest(method=method, url=url, data=body or b"", headers=dict(headers))
        SigV4Auth(self.credentials, self.service, self.region).add_auth(request)
        return dict(request.headers.items())


@dataclass
class ApiClient:
    base_url: str
    signer: SigV4Signer | None = None
    timeout: float = 30.0
    extra_headers: dict[str, str] = field(default_factory=dict)

    def url(self, path: str, query: dict[str, Any] | None = None) -> str:
        url = self.base_url.rstrip("/") + path
        params = {k: _query_value(v) for k, v in (query or {}).items() if v is not None}
        return f"{url}?{urlencode(params)}" if params else url

    def request(
        self,
        method: str,
        path: str,
        *,
        query: dict[str, Any] | None = None,
        body: Any = None,
        headers: dict[str, str] | None = None,
    ) -> ApiReply:
        """Send one request: any HTTP status is a reply; a transport failure raises ApiUnreachable."""
        url = self.url(path, query)
        data = None if body is None else json.dumps(body).encode("utf-8")
        sent = {
            "Accept": "application/json",
            "User-Agent": USER_AGENT,
            **self.extra_headers,
            **(headers or {}),
        }
        if data is not None:
            sent["Content-Type"] = "application/json"
        if self.signer is not None:
            sent = self.signer.headers(method, url, data, sent)
        request = urllib.request.Request(url, data=data, method=method, headers=sent)
        try:
            # noqa below: the URL is the API's own http(s) base URL
            with urllib.request.urlopen(request, timeout=self.timeout) as response:  # noqa: S310
                return _reply(response.status, dict(response.headers.items()), response.read())
        except urllib.error.HTTPError as exc:
            return _reply(exc.code, dict(exc.headers.items()) if exc.headers else {}, exc.read())
        except (TimeoutError, urllib.error.URLError, ConnectionError, OSError) as exc:
            reason = getattr(exc, "reason", exc)
            raise ApiUnreachable(f"cannot reach the API at {self.base_url}: {reason}") from None

    def forward(
        self, method: str, target: str, body: bytes, headers: dict[str, str]
    ) -> tuple[int, dict[str, str], bytes]:
        """Send a request as received (``target`` is the path and query), signed or authorised like
        :meth:`request`; answers ``(status, headers, raw body)``. Used by ``agentcron console``'s proxy."""
        url = self.base_url.rstrip("/") + (target if target.startswith("/") else "/" + target)
        sent = {"User-Agent": USER_AGENT, **headers, **self.extra_headers}
        data = body if body or method in ("POST", "PUT", "PATCH") else None
        if self.signer is not None:
            sent = self.signer.headers(method, url, data, sent)
        request = urllib.request.Request(url, data=data, method=method, headers=sent)
        try:
            # noqa below: the URL is the API's own http(s) base URL
            with urllib.request.urlopen(request, timeout=self.timeout) as response:  # noqa: S310
                return response.status, dict(response.headers.items()), response.read()
        except urllib.error.HTTPError as exc:
            return exc.code, dict(exc.headers.items()) if exc.headers else {}, exc.read()
        except (TimeoutError, urllib.error.URLError, ConnectionError, OSError) as exc:
            reason = getattr(exc, "reason", exc)
            raise ApiUnreachable(f"cannot reach the API at {self.base_url}: {reason}") from None


def bearer_client(api_url: str, token: str, *, timeout: float) -> ApiClient:
    """A client for an API behind a JWT authorizer: every request carries ``Authorization: Bearer``."""
    return ApiClient(api_url, timeout=timeout, extra_headers={"Authorization": f"Bearer {token}"})


def segment(value: str) -> str:
    """A path segment, percent-encoded (ids are plain, but never let one change the path)."""
    return quote(value, safe="")


def _query_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _reply(status: int, headers: dict[str, str], raw: bytes) -> ApiReply:
    text = raw.decode("utf-8", "replace")
    body: Any = None
    if text:
        try:
            body = json.loads(text)
        except ValueError:
            body = None
    return ApiReply(status, {k.lower(): v for k, v in headers.items()}, body, text)


def stack_client(
    stack: str, *, region: str | None, profile: str | None, timeout: float, token: str | None = None
) -> ApiClient:
    """A signing client for the API of CloudFormation stack ``stack`` (its ``ApiUrl`` output); with
    ``token``, a client carrying that bearer token instead of signing (a stack with a JWT authorizer)."""
    import boto3
    from botocore.exceptions import BotoCoreError, ClientError

    try:
        session = boto3.session.Session(profile_name=profile, region_name=region)
        credentials = session.get_credentials()
        if credentials is None:
            raise StackLookupFailed("no AWS credentials found (configure a profile or environment variables)")
        if not session.region_name:
            raise StackLookupFailed("no AWS region: pass --region or set AWS_REGION")
        stacks = session.client("cloudformation").describe_stacks(StackName=stack)["Stacks"]
    except (BotoCoreError, ClientError) as exc:
        raise StackLookupFailed(f"cannot read stack {stack}: {exc}") from None
    outputs = {o["OutputKey"]: o["OutputValue"] for o in (stacks[0].get("Outputs") or [])} if stacks else {}
    if "ApiUrl" not in outputs:
        raise StackLookupFailed(f"stack {stack} has no ApiUrl output (is it an agentcron stack?)")
    if token:
        return bearer_client(outputs["ApiUrl"], token, timeout=timeout)
    signer = SigV4Signer(credentials.get_frozen_credentials(), session.region_name)
    return ApiClient(outputs["ApiUrl"], signer=signer, timeout=timeout)
