"""Pins and reactions in a space."""

from __future__ import annotations

from parley.actions import audit
from parley.actions.base import Services, change, locked_space
from parley.actions.spaces import present_member
from parley.domain import pins as pin_rules
from parley.domain.errors import NotFound
from parley.domain.events import PinAdded, PinRemoved
from parley.domain.reactions import check_emoji
from parley.domain.space import SpaceState, require_joinable, require_live
from parley.domain.stage import StageAction, require_space_action
from parley.domain.views import PinView
from parley.store import repo, views
from parley.store.models import Pin


async def add_pin(
    services: Services, space_id: int, actor_id: int, *, text: str, url: str | None
) -> PinView:
    kind, text, url = pin_rules.check_pin(text, url)
    async with change(services) as unit:
        space = await locked_space(unit, space_id)
        actor = await present_member(unit.session, space_id, actor_id)
        require_space_action(repo.seat_of(actor), StageAction.PIN)
        require_joinable(SpaceState(space.state))
        pin_rules.check_room_for_pin(await repo.pin_count(unit.session, space_id))
        pin = Pin(
            space_id=space_id,
            kind=kind.value,
            text=text,
            url=url,
            created_by=actor_id,
            created_at=unit.now,
        )
        unit.session.add(pin)
        await unit.session.flush()
        view = views.pin_view(pin)
        await unit.record(space, PinAdded(pin=view))
        return view


async def remove_pin(services: Services, space_id: int, actor_id: int, pin_id: int) -> None:
    async with change(services) as unit:
        space = await locked_space(unit, space_id)
        actor = await present_member(unit.session, space_id, actor_id)
        require_space_action(repo.seat_of(actor), StageAction.UNPIN)
        require_joinable(SpaceState(space.state))
        pin = await unit.session.get(Pin, pin_id)
        if pin is None or pin.space_id != space_id:
            raise NotFound(f"no pin {pin_id} in this space")
        await unit.session.delete(pin)
        await unit.record(space, PinRemoved(pin_id=pin_id))
        await audit.write_by_id(
            unit,
            actor_id=actor_id,
            actor_role=actor.role,
            action="remove_pin",
            target_id=pin.created_by,
            space_id=space_id,
            text=pin.text,
        )


async def react(services: Services, space_id: int, user_id: int, emoji: str) -> None:
    """Reactions are not stored: they go into this node's window for the space (see room/)."""
    emoji = check_emoji(emoji)
    async with services.store.read() as session:
        space = await repo.space(session, space_id)
        if space is None:
            raise NotFound(f"no space {space_id}")
        row = await present_member(session, space_id, user_id)
    require_live(SpaceState(space.state), "react")
    require_space_action(repo.seat_of(row), StageAction.REACT)
    if services.room is None:
        raise RuntimeError("reactions need the room runtime")
    services.room.react(space_id, user_id, emoji)
