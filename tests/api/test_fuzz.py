"""Property-based fuzzing of every HTTP operation, generated from the app's own OpenAPI document.

Schemathesis reads `/api/openapi.json` from the real server and, for each operation, Hypothesis
sends valid and invalid bodies, path parameters and query strings, authenticated with a personal
API token. Some of the generated requests name the real objects set up beforehand (a live space,
its joined member, a pin, a spare token), so they reach the code behind the route and not only its
validation. Whatever is sent, no answer may be a 5xx, every 4xx must be the project's error shape
(a JSON object with an `error` and a `message`, docs/api.md "Errors"), and the server may log no
error or traceback.

Bounded for CI: a few dozen examples per operation, no deadline, derandomized (the same requests
on every run), no shrinking and no example database on disk.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, Phase, assume, given, settings
from hypothesis import strategies as st
from pydantic import TypeAdapter, ValidationError
from schemathesis.checks import not_a_server_error
from schemathesis.core.result import Err

from support import Client, Running, grant

pytestmark = [pytest.mark.integration, pytest.mark.slow]

# WHIP and WHEP take their SDP offer as text: generated strings go on the wire as UTF-8.
schemathesis.serializer.alias("application/sdp", "text/plain")

Case = schemathesis.Case[Any]
Operation = schemathesis.APIOperation[Any, Any, Any, Any]

# Examples per operation, shared by the generation modes mixed for it (operations with little to
# vary, such as GET /api/me, run fewer: Hypothesis does not repeat an example).
EXAMPLES = 30
# Operations that undo what the others need (the member on the space, the space live) go last,
# in this order; the rest keep the schema's order.
LAST = (
    # The desk's actions on the member and the space (the fuzzer is an admin, issue 12).
    ("POST", "/api/admin/reports/{report_id}/decision"),
    ("POST", "/api/admin/users/{user_id}/suspend"),
    ("POST", "/api/admin/spaces/{space_id}/end"),
    ("POST", "/api/spaces/{space_id}/members/{user_id}/{verb}"),
    ("PUT", "/api/users/{handle}/block"),
    ("POST", "/api/spaces/{space_id}/end"),
    ("POST", "/api/spaces/{space_id}/cancel"),
)
PATH_INT = TypeAdapter(int)


def project_error_shape(
    ctx: schemathesis.CheckContext, response: schemathesis.Response, case: Case
) -> bool | None:
    """Every 4xx is a JSON object with an `error` code and a human `message` (docs/api.md)."""
    if not 400 <= response.status_code < 500:
        return None
    content_type = response.headers.get("content-type", [""])[0]
    assert content_type.startswith("application/json"), (
        f"{response.status_code} answered with Content-Type {content_type!r}, not JSON"
    )
    try:
        body = json.loads(response.content)
    except ValueError as exc:
        raise AssertionError(
            f"{response.status_code} with a body that is not JSON: {exc}"
        ) from None
    assert isinstance(body, dict), f"{response.status_code} with a JSON {type(body).__name__}"
    for key in ("error", "message"):
        assert isinstance(body.get(key), str) and body[key], (
            f"{response.status_code} without a non-empty string {key!r}: {body!r}"
        )
    return None


@dataclass
class World:
    """What the fuzzing user can reach: real objects made through the public API."""

    base_url: str
    fuzzer: Client
    member: Client
    own_token_id: int
    known: dict[str, Any]

    def restore(self) -> None:
        """Puts the member back on the space asking to speak, as far as the space still allows."""
        space = f"{self.base_url}/api/spaces/{self.known['space_id']}"
        for url in (f"{space}/join", f"{space}/me/request"):
            response = requests.post(url, headers=self.member.headers, timeout=10)
            assert response.status_code < 500, f"POST {url}: {response.status_code} {response.text}"

    def check_identity(self, after: str) -> None:
        """The fuzzing token must survive every operation, or the rest would only see 401s."""
        me = requests.get(f"{self.base_url}/api/me", headers=self.fuzzer.headers, timeout=10)
        assert me.status_code == 200, f"after {after}: {me.status_code} {me.text}"


@dataclass
class Findings:
    failures: dict[tuple[str, str], str] = field(default_factory=dict)
    sent: Counter[str] = field(default_factory=Counter)
    statuses: Counter[int] = field(default_factory=Counter)

    def add(self, operation: str, kind: str, report: str) -> None:
        """Keeps the first failure of each kind per operation, so one bug does not flood the
        report."""
        self.failures.setdefault((operation, kind), f"=== {operation}\n{report}")


class ErrorLog(logging.Handler):
    """Errors the server logs (the app's own, and uvicorn's 'Exception in ASGI application')."""

    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.setFormatter(logging.Formatter("%(name)s %(levelname)s: %(message)s"))
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(self.format(record))

    @contextmanager
    def installed(self) -> Iterator[ErrorLog]:
        # uvicorn's loggers do not propagate to the root logger.
        loggers = [logging.getLogger(), logging.getLogger("uvicorn")]
        for logger in loggers:
            logger.addHandler(self)
        try:
            yield self
        finally:
            for logger in loggers:
                logger.removeHandler(self)


async def set_up(server: Running) -> World:
    """A user hosting a live space where a second user has joined and asked to speak; the user
    is the instance's admin (so the desk's operations reach their code), and the member has been
    reported."""
    fuzzer = await grant(server, await server.signup("fuzzhost"), "admin")
    member = await server.signup("fuzzmember")
    space = await fuzzer.create_space("Fuzzing", topics=["fuzz"])
    await member.join(space["id"])
    assert (await member.me(space["id"], "request")).status_code == 200
    pin = (
        await fuzzer.ok(
            "POST", f"/api/spaces/{space['id']}/pins", {"text": "pinned", "url": None}, status=201
        )
    )["pin"]
    report = await fuzzer.ok(
        "POST", "/api/reports", {"kind": "user", "user_id": member.id, "reason": "spam"}, status=201
    )
    spare = await fuzzer.ok("POST", "/api/me/tokens", {"name": "spare"}, status=201)
    tokens = (await fuzzer.ok("GET", "/api/me/tokens"))["tokens"]
    (own,) = [t["id"] for t in tokens if t["name"] == "tests"]
    return World(
        base_url=server.base_url,
        fuzzer=fuzzer,
        member=member,
        own_token_id=own,
        known={
            "space_id": space["id"],
            "user_id": member.id,
            "handle": member.handle,
            "pin_id": pin["id"],
            "token_id": spare["id"],
            "report_id": report["id"],
        },
    )


def deletes_own_token(case: Case, own: int) -> bool:
    """Whether the case would revoke the fuzzing token, however its id is spelled ('01', '1.0')."""
    if case.method.upper() != "DELETE" or not case.path.endswith("/tokens/{token_id}"):
        return False
    value = (case.path_parameters or {}).get("token_id")
    try:
        return PATH_INT.validate_python(str(value)) == own
    except ValidationError:
        return False


def fuzz_operation(world: World, operation: Operation, findings: Findings) -> None:
    """Valid and invalid requests, half of the strategies aimed at the real objects' ids."""
    names = {parameter.name for parameter in operation.path_parameters}
    known = {name: world.known[name] for name in sorted(names) if name in world.known}
    modes = [schemathesis.GenerationMode.POSITIVE, schemathesis.GenerationMode.NEGATIVE]
    strategies = [operation.as_strategy(generation_mode=mode) for mode in modes]
    if known:
        strategies += [
            operation.as_strategy(generation_mode=mode, path_parameters=known) for mode in modes
        ]
    session = requests.Session()

    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        derandomize=True,
        database=None,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(case=st.one_of(strategies))
    def run(case: Case) -> None:
        assume(not deletes_own_token(case, world.own_token_id))
        # Cookies set by sign-up or sign-in must not turn the next request into a browser's.
        session.cookies.clear()
        findings.sent[operation.label] += 1
        try:
            response = case.call(
                base_url=world.base_url, session=session, headers=world.fuzzer.headers, timeout=10
            )
        except requests.RequestException as exc:
            findings.add(operation.label, "transport", f"{case.as_curl_command()}\n{exc!r}")
            return
        findings.statuses[response.status_code] += 1
        try:
            case.validate_response(
                response,
                checks=[not_a_server_error, project_error_shape],
                headers=world.fuzzer.headers,
            )
        except schemathesis.errors.FailureGroup as group:
            findings.add(operation.label, str(response.status_code), str(group))

    try:
        run()
    finally:
        session.close()


def running_order(operation: Operation) -> int:
    key = (operation.method.upper(), operation.path)
    return LAST.index(key) + 1 if key in LAST else 0


def fuzz(world: World) -> tuple[list[Operation], Findings]:
    schema = schemathesis.openapi.from_url(
        f"{world.base_url}/api/openapi.json", config=schemathesis.Config(seed=0)
    )
    operations: list[Operation] = []
    for result in schema.get_all_operations():
        if isinstance(result, Err):
            raise result.err()
        operations.append(result.ok())
    operations.sort(key=running_order)
    findings = Findings()
    for operation in operations:
        world.restore()
        fuzz_operation(world, operation, findings)
        world.check_identity(after=operation.label)
    return operations, findings


async def test_no_operation_answers_5xx_or_a_malformed_error(server: Running) -> None:
    world = await set_up(server)
    with ErrorLog().installed() as errors:
        operations, findings = await asyncio.to_thread(fuzz, world)

    labels = {op.label for op in operations}
    assert {"POST /api/spaces", "POST /api/spaces/{space_id}/join"} <= labels, labels
    # Every operation was exercised, and the known ids reached real objects.
    assert not [label for label in labels if not findings.sent[label]]
    assert findings.statuses[200] and findings.statuses[201] and findings.statuses[204]
    assert sum(findings.sent.values()) > EXAMPLES // 2 * len(operations), findings.sent

    problems = list(findings.failures.values())
    problems += [f"=== the server logged\n{line}" for line in errors.lines[:5]]
    assert not problems, f"{len(findings.failures)} failing (operation, status), " + (
        f"{len(errors.lines)} errors logged:\n\n" + "\n\n".join(problems)
    )
