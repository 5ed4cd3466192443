"""The command line: `parley admin grant` makes the first admin of an instance, `parley admin
invite` the first invite code."""

from __future__ import annotations

import os

import pytest

from support import Running, run_parley

pytestmark = pytest.mark.integration


async def _parley(server: Running, *args: str) -> tuple[int, str, str]:
    settings = server.app.state.services.settings
    env = {
        **os.environ,
        "DATABASE_URL": settings.database_url,
        "PARLEY_DATA_DIR": str(settings.data_dir),
        "REDIS_URL": settings.redis_url,
        "PARLEY_BUS_NAMESPACE": settings.bus_namespace,
    }
    return await run_parley(env, *args)


async def test_the_operator_grants_the_first_admin(server: Running) -> None:
    first = await server.signup("first")
    assert (await first.get("/api/admin/audit")).status_code == 403
    code, out, err = await _parley(server, "admin", "grant", "FIRST")
    assert (code, out.strip()) == (0, "@first is now admin"), err
    assert (await first.get("/api/admin/audit")).status_code == 200
    lines = (await first.ok("GET", "/api/admin/audit"))["entries"]
    assert [(x["actor_role"], x["action"], x["target_handle"]) for x in lines] == [
        ("operator", "grant_role", "first")
    ]
    # An invite code from the operator, listed on the desk.
    code, out, err = await _parley(server, "admin", "invite", "--uses", "3")
    assert code == 0 and len(out.strip()) >= 16, err
    invites = (await first.ok("GET", "/api/admin/invites"))["invites"]
    assert [(i["code"], i["max_uses"]) for i in invites] == [(out.strip(), 3)]
    # Back to a member.
    code, out, _ = await _parley(server, "admin", "grant", "first", "--role", "member")
    assert (code, out.strip()) == (0, "@first is now member")
    assert (await first.get("/api/admin/audit")).status_code == 403
    code, _, err = await _parley(server, "admin", "grant", "nobody")
    assert code == 1 and "no user @nobody" in err
    code, _, err = await _parley(server, "admin", "grant", "first", "--role", "king")
    assert code == 2 and "king" in err
