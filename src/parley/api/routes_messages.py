"""Direct messages and invitations by message (issue 13, docs/api.md "Direct messages and
invitations"). The rules are domain/messages.py's; the changes actions/messages.py's."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, status
from pydantic import BaseModel, Field

from parley.actions import invitations, messages
from parley.api.auth import ServicesDep, UserDep
from parley.api.schemas import Body, Id
from parley.domain.messages import (
    INVITEES_MAX,
    TEXT_MAX,
    ConversationView,
    InviteRole,
    MessageView,
    Refusal,
    ThreadView,
)
from parley.domain.views import MemberView

router = APIRouter(prefix="/api", tags=["messages"])

# What a body may carry before the rules look at it (they refuse more than TEXT_MAX characters
# once trimmed, naming `text`); a handle is at most 15 characters, and "@" may lead.
_RAW_TEXT_MAX = TEXT_MAX * 4
Handle = Annotated[str, Field(max_length=32)]


class MessageBody(Body):
    # May be empty when `space_id` is sent (a space card alone).
    text: str = Field(default="", max_length=_RAW_TEXT_MAX)
    # A space card: the space shared with this one person.
    space_id: int | None = Field(default=None, ge=1, le=2_147_483_647)


class MessageOut(BaseModel):
    message: MessageView


class ConversationsOut(BaseModel):
    conversations: list[ConversationView]
    # Messages to the user not read yet, in all conversations.
    unread: int


class InvitationBody(Body):
    handles: list[Handle] = Field(max_length=INVITEES_MAX * 5)
    role: InviteRole
    text: str = Field(default="", max_length=_RAW_TEXT_MAX)


class RefusedOut(BaseModel):
    handle: str
    reason: Refusal


class InvitationsOut(BaseModel):
    sent: list[str]
    refused: list[RefusedOut]


class AcceptedOut(BaseModel):
    space_id: int
    role: InviteRole
    member: MemberView | None


BeforeId = Annotated[int | None, Query(ge=1, le=2_147_483_647)]


@router.get("/messages")
async def list_conversations(services: ServicesDep, user: UserDep) -> ConversationsOut:
    """The user's conversations, newest first (at most 50)."""
    services.take("messages-read", user.id, burst=60.0, rate_per_s=2.0)
    found, unread = await messages.conversations(services, user.id)
    return ConversationsOut(conversations=found, unread=unread)


@router.post("/messages/{handle}", status_code=status.HTTP_201_CREATED)
async def send_message(
    handle: str, body: MessageBody, services: ServicesDep, user: UserDep
) -> MessageOut:
    settings = services.settings
    services.take(
        "message", user.id, burst=settings.message_burst, rate_per_s=1 / settings.message_interval_s
    )
    view = await messages.send(services, user.id, handle, text=body.text, space_id=body.space_id)
    return MessageOut(message=view)


@router.get("/messages/{handle}")
async def get_thread(
    handle: str, services: ServicesDep, user: UserDep, before_id: BeforeId = None
) -> ThreadView:
    """The conversation with `handle`, 50 messages a page, oldest first (`before_id`: the page
    before that message)."""
    services.take("messages-read", user.id, burst=60.0, rate_per_s=2.0)
    return await messages.thread(services, user.id, handle, before_id=before_id)


@router.post("/messages/{handle}/read", status_code=status.HTTP_204_NO_CONTENT)
async def mark_read(handle: str, services: ServicesDep, user: UserDep) -> None:
    services.take("messages-read", user.id, burst=60.0, rate_per_s=2.0)
    await messages.mark_read(services, user.id, handle)


@router.post("/messages/{message_id}/accept")
async def accept_invitation(message_id: Id, services: ServicesDep, user: UserDep) -> AcceptedOut:
    services.take("invitation-accept", user.id, burst=20.0, rate_per_s=0.5)
    accepted = await invitations.accept(services, user.id, message_id)
    return AcceptedOut(space_id=accepted.space_id, role=accepted.role, member=accepted.member)


@router.post("/spaces/{space_id}/invitations")
async def invite(
    space_id: Id, body: InvitationBody, services: ServicesDep, user: UserDep
) -> InvitationsOut:
    """Invites up to 20 people by message to listen or to speak; each is sent or refused on
    their own (`refused[].reason`)."""
    services.take("invitation-call", user.id, burst=10.0, rate_per_s=0.2)
    done = await invitations.invite(
        services, user.id, space_id, handles=body.handles, role=body.role, text=body.text
    )
    return InvitationsOut(
        sent=done.sent,
        refused=[RefusedOut(handle=handle, reason=reason) for handle, reason in done.refused],
    )
