"""The whole role x action (x target role) permission matrix, written out by hand."""

from __future__ import annotations

import pytest

from parley.domain.stage import Role, StageAction, may

pytestmark = pytest.mark.unit

# Columns: the actor is host, cohost, speaker, listener. Y = allowed.
SELF_AND_SPACE = """
request         - - - Y
withdraw        - - - Y
accept          - - - Y
decline         - - - Y
leave-stage     - Y Y -
mute-self       Y Y Y -
unmute-self     Y Y Y -
react           Y Y Y Y
pin             Y Y - -
unpin           Y Y - -
start           Y - - -
end             Y - - -
cancel          Y - - -
"""

# Rows: action and the target's role.
ON_OTHERS = """
approve        listener  Y Y - -
approve        speaker   - - - -
approve        cohost    - - - -
approve        host      - - - -
deny           listener  Y Y - -
deny           speaker   - - - -
invite         listener  Y Y - -
invite         speaker   - - - -
invite         cohost    - - - -
move-down      speaker   Y Y - -
move-down      cohost    Y - - -
move-down      host      - - - -
move-down      listener  Y Y - -
mute           speaker   Y Y - -
mute           cohost    Y - - -
mute           host      - - - -
mute           listener  Y Y - -
unmute         speaker   - - - -
unmute         cohost    - - - -
unmute         host      - - - -
unmute         listener  - - - -
remove         listener  Y Y - -
remove         speaker   Y Y - -
remove         cohost    Y - - -
remove         host      - - - -
make-cohost    listener  Y - - -
make-cohost    speaker   Y - - -
make-cohost    cohost    Y - - -
make-cohost    host      - - - -
remove-cohost  cohost    Y - - -
remove-cohost  speaker   Y - - -
remove-cohost  host      - - - -
"""
ACTORS = [Role.HOST, Role.COHOST, Role.SPEAKER, Role.LISTENER]
SELF_ACTION_NAMES = {"mute-self": StageAction.MUTE_SELF, "unmute-self": StageAction.UNMUTE_SELF}


def _self_cases() -> list[tuple[StageAction, Role, bool]]:
    cases = []
    for line in SELF_AND_SPACE.strip().splitlines():
        name, *cells = line.split()
        action = SELF_ACTION_NAMES.get(name) or StageAction(name)
        cases += [(action, actor, cell == "Y") for actor, cell in zip(ACTORS, cells, strict=True)]
    return cases


def _other_cases() -> list[tuple[StageAction, Role, Role, bool]]:
    cases = []
    for line in ON_OTHERS.strip().splitlines():
        name, target, *cells = line.split()
        action = StageAction(name)
        cases += [
            (action, actor, Role(target), cell == "Y")
            for actor, cell in zip(ACTORS, cells, strict=True)
        ]
    return cases


@pytest.mark.parametrize(("action", "actor", "allowed"), _self_cases())
def test_self_and_space_actions(action: StageAction, actor: Role, allowed: bool) -> None:
    assert may(actor, action) is allowed


@pytest.mark.parametrize(("action", "actor", "target", "allowed"), _other_cases())
def test_actions_on_others(action: StageAction, actor: Role, target: Role, allowed: bool) -> None:
    assert may(actor, action, target) is allowed


def test_every_action_is_in_the_matrix() -> None:
    covered = {a for a, _, _ in _self_cases()} | {a for a, _, _, _ in _other_cases()}
    assert covered == set(StageAction)


def test_targeted_actions_need_a_target_and_self_actions_refuse_one() -> None:
    assert not may(Role.HOST, StageAction.MUTE_OTHER)
    assert not may(Role.LISTENER, StageAction.REQUEST, Role.LISTENER)
