"""Tables of Parley. The schema itself only ever comes from the Alembic migrations."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, ClassVar

from sqlalchemy import (
    JSON,
    Boolean,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, column_property, mapped_column, validates

from parley.domain import search


class UTCDateTime(TypeDecorator[datetime]):
    """Aware UTC datetimes on every backend (SQLite forgets the offset)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the store")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


NAMING = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map: ClassVar[dict[Any, Any]] = {datetime: UTCDateTime}


# Tables whose ids reach clients never reuse a deleted id (SQLite would without AUTOINCREMENT).


class User(Base):
    __table_args__ = ({"sqlite_autoincrement": True},)
    __tablename__ = "users"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    handle: Mapped[str] = mapped_column(String(15))
    handle_key: Mapped[str] = mapped_column(String(15), unique=True)
    display_name: Mapped[str] = mapped_column(String(50))
    bio: Mapped[str] = mapped_column(String(160), default="")
    password_hash: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime]
    # The profile picture as the server re-encoded it (resized, no metadata); None: initials.
    # Deferred: a user row is read on every request and in every list of people, the picture
    # only by its own endpoint, which selects it by name (reading it by accident raises).
    avatar: Mapped[bytes | None] = mapped_column(
        LargeBinary, deferred=True, deferred_raiseload=True
    )
    # Bumped on every change of the picture: its URL carries it, so caches never serve an old one.
    avatar_version: Mapped[int] = mapped_column(Integer, default=0)
    # Whether there is a picture, read with the row in place of the bytes. Not expired by a
    # flush (a profile edit does not change it); the avatar action refreshes it. Unloaded on a
    # user inserted in this session, who has none (store/views.py).
    has_avatar: Mapped[bool] = column_property(avatar.is_not(None), expire_on_flush=False)
    # The display name folded for search (domain/search.py), kept in step by `_fold_name`.
    name_key: Mapped[str] = mapped_column(Text, default="")
    # The instance's role (domain/moderation.py InstanceRole): member, moderator or admin.
    role: Mapped[str] = mapped_column(String(16), default="member")
    # active, or pending an admin's approval (the instance's sign-up mode "approval").
    state: Mapped[str] = mapped_column(String(16), default="active")
    # The current sanctions, kept here so that every request's authentication reads them with
    # the user (their history is in `sanctions`); FOREVER for good.
    suspended_until: Mapped[datetime | None]
    hosting_restricted_until: Mapped[datetime | None]
    # Notifications (domain/notify.py): where email goes (None: no email), the channels chosen
    # per kind (kinds not named take the defaults), quiet hours in minutes of the local day of
    # `time_zone` (None: none), who may send direct messages (domain/messages.py).
    email: Mapped[str | None] = mapped_column(String(254))
    # The owner of `email` followed the link sent to it: only then is it sent notifications.
    email_confirmed: Mapped[bool] = mapped_column(Boolean, default=False)
    notify_channels: Mapped[dict[str, list[str]]] = mapped_column(JSON, default=dict)
    quiet_start_min: Mapped[int | None] = mapped_column(Integer)
    quiet_end_min: Mapped[int | None] = mapped_column(Integer)
    time_zone: Mapped[str] = mapped_column(String(64), default="UTC")
    dm_policy: Mapped[str] = mapped_column(String(16), default="everyone")

    @validates("display_name")
    def _fold_name(self, _key: str, display_name: str) -> str:
        # Every write of the name, whichever action makes it, refreshes its search key.
        self.name_key = search.user_name_key(display_name)
        return display_name


class AuthSession(Base):
    """A browser session: the cookie holds the token, the row holds its hash."""

    __table_args__ = ({"sqlite_autoincrement": True},)

    __tablename__ = "auth_sessions"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    csrf_token: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime]


class ApiToken(Base):
    __table_args__ = ({"sqlite_autoincrement": True},)
    __tablename__ = "api_tokens"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(60))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime]


class Follow(Base):
    __tablename__ = "follows"
    # A person's followers in id order: a fan-out reads them a batch at a time from a cursor
    # (actions/notify.py), a range of this index instead of a sort of all of them per batch.
    __table_args__ = (Index("ix_follows_followee_id_follower_id", "followee_id", "follower_id"),)
    follower_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    followee_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    created_at: Mapped[datetime]


class Block(Base):
    __tablename__ = "blocks"
    blocker_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    blocked_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True, index=True
    )
    created_at: Mapped[datetime]


class Space(Base):
    __table_args__ = ({"sqlite_autoincrement": True},)
    __tablename__ = "spaces"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    host_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    title: Mapped[str] = mapped_column(String(70))
    topics: Mapped[list[str]] = mapped_column(JSON)
    speaker_policy: Mapped[str] = mapped_column(String(16))
    state: Mapped[str] = mapped_column(String(16), index=True)
    scheduled_for: Mapped[datetime | None]
    started_at: Mapped[datetime | None]
    ended_at: Mapped[datetime | None]
    created_at: Mapped[datetime]
    # The last sequence number given to a change of this space. Bumping it first in every action
    # both numbers the change and takes the space's write lock (row lock on PostgreSQL).
    event_seq: Mapped[int] = mapped_column(Integer, default=0)
    host_absent_since: Mapped[datetime | None]
    # The host's choice: whether a replay of the recording may be offered.
    record: Mapped[bool] = mapped_column(Boolean, default=True)
    # The host's choice: only signed-in people may listen (else visitors may, if the instance lets).
    accounts_required: Mapped[bool] = mapped_column(Boolean, default=False)
    # Live captions (host and co-hosts switch them), and the language spoken (ISO 639-1).
    captions: Mapped[bool] = mapped_column(Boolean, default=False)
    caption_language: Mapped[str] = mapped_column(String(8), default="en")
    # Title and topics folded for search (domain/search.py), kept in step by `_fold_for_search`.
    search_key: Mapped[str] = mapped_column(Text, default="")

    @validates("title", "topics")
    def _fold_for_search(self, key: str, value: Any) -> Any:
        title = value if key == "title" else self.title
        topics = value if key == "topics" else self.topics
        self.search_key = search.space_key(title or "", topics or [])
        return value


class SpaceMember(Base):
    __tablename__ = "space_members"
    __table_args__ = (
        UniqueConstraint("space_id", "user_id"),
        Index("ix_space_members_space_id_role", "space_id", "role"),
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    space_id: Mapped[int] = mapped_column(ForeignKey("spaces.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    role: Mapped[str] = mapped_column(String(16))
    muted: Mapped[bool] = mapped_column(Boolean)
    stage_request: Mapped[str] = mapped_column(String(16))
    removed: Mapped[bool] = mapped_column(Boolean, default=False)
    # Open WebSockets of this member, over all nodes: > 0 means present in the room.
    connections: Mapped[int] = mapped_column(Integer, default=0)
    # Audio of this member reaches the server now (a connected WHIP session that has delivered
    # a frame). Unmuting needs it, and losing it mutes: nobody looks unmuted while unheard.
    mic_live: Mapped[bool] = mapped_column(Boolean, default=False)
    # The member let their words be captioned (they may switch it off: consent).
    captioned: Mapped[bool] = mapped_column(Boolean, default=True)
    joined_at: Mapped[datetime]


class MemberConnection(Base):
    """How many of a member's connections (room sockets, media sessions) one node holds: the
    node owns these counts through a lease it renews, so that when it dies (kill -9) its counts
    leave `space_members.connections` once the lease runs out (room/runtime.py)."""

    __tablename__ = "member_connections"
    space_id: Mapped[int] = mapped_column(
        ForeignKey("spaces.id", ondelete="CASCADE"), primary_key=True
    )
    user_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    node: Mapped[str] = mapped_column(String(200), primary_key=True)
    connections: Mapped[int] = mapped_column(Integer)
    renewed_at: Mapped[datetime] = mapped_column(index=True)


class CaptionLine(Base):
    """A final caption line: one utterance of one stage member. The space's transcript is its
    lines; they go with the recording (retention purges them). `text` None: the member's voice was
    not captioned (speech without text)."""

    __tablename__ = "caption_lines"
    __table_args__ = (UniqueConstraint("space_id", "number"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    space_id: Mapped[int] = mapped_column(ForeignKey("spaces.id", ondelete="CASCADE"))
    # The utterance's number in its space (a partial and its final shared it on the socket).
    number: Mapped[int] = mapped_column(Integer)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    start_ms: Mapped[int] = mapped_column(Integer)
    end_ms: Mapped[int] = mapped_column(Integer)
    text: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime]


class SpaceVisitors(Base):
    """How many visitors (people without an account) one node has in a space's room now: one row
    per space and node, written at most once a second when the count changes and renewed as a
    lease, so the visitors of a node that crashed drop out of the count once it runs out."""

    __tablename__ = "space_visitors"
    space_id: Mapped[int] = mapped_column(
        ForeignKey("spaces.id", ondelete="CASCADE"), primary_key=True
    )
    node: Mapped[str] = mapped_column(String(200), primary_key=True)
    visitors: Mapped[int] = mapped_column(Integer)
    renewed_at: Mapped[datetime] = mapped_column(index=True)


class Pin(Base):
    __table_args__ = ({"sqlite_autoincrement": True},)
    __tablename__ = "pins"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    space_id: Mapped[int] = mapped_column(ForeignKey("spaces.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(8))
    text: Mapped[str] = mapped_column(String(280))
    url: Mapped[str | None] = mapped_column(String(2000))
    created_by: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    created_at: Mapped[datetime]


class SpaceEvent(Base):
    """The recent numbered changes of a space, kept so a reconnecting client can resume."""

    __tablename__ = "space_events"
    space_id: Mapped[int] = mapped_column(
        ForeignKey("spaces.id", ondelete="CASCADE"), primary_key=True
    )
    seq: Mapped[int] = mapped_column(Integer, primary_key=True)
    payload: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime]


class Recording(Base):
    """A space's recording: its HLS segments in the media store, kept for the retention period.
    The unique space_id is also the claim: the node that inserts it writes the space's media."""

    __table_args__ = ({"sqlite_autoincrement": True},)
    __tablename__ = "recordings"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    space_id: Mapped[int] = mapped_column(ForeignKey("spaces.id", ondelete="CASCADE"), unique=True)
    node: Mapped[str] = mapped_column(String(200))
    state: Mapped[str] = mapped_column(String(16), index=True)
    started_at: Mapped[datetime]
    ended_at: Mapped[datetime | None]
    duration_ms: Mapped[int] = mapped_column(Integer, default=0)
    size_bytes: Mapped[int] = mapped_column(Integer, default=0)
    replay_published_at: Mapped[datetime | None]


class Clip(Base):
    __table_args__ = ({"sqlite_autoincrement": True},)
    __tablename__ = "clips"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    # What the clip's links carry: unguessable, so one shared link does not lead to the others.
    slug: Mapped[str] = mapped_column(String(32), unique=True)
    recording_id: Mapped[int] = mapped_column(
        ForeignKey("recordings.id", ondelete="CASCADE"), index=True
    )
    space_id: Mapped[int] = mapped_column(ForeignKey("spaces.id", ondelete="CASCADE"), index=True)
    created_by: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    start_ms: Mapped[int] = mapped_column(Integer)
    duration_ms: Mapped[int] = mapped_column(Integer)
    size_bytes: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime]


class Sanction(Base):
    """A moderator's action on an account: a warning, a restriction of hosting or a suspension,
    for a time (`ends_at`) or for good (None). The user's moderation history."""

    __table_args__ = ({"sqlite_autoincrement": True},)
    __tablename__ = "sanctions"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(24))
    reason: Mapped[str] = mapped_column(Text, default="")
    created_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime]
    ends_at: Mapped[datetime | None]
    lifted_at: Mapped[datetime | None]
    report_id: Mapped[int | None] = mapped_column(ForeignKey("reports.id", ondelete="SET NULL"))


class Report(Base):
    """Someone's report of a user, a space or a moment of a space, with its evidence gathered
    when it was made (`evidence`: the space, the member, caption lines, history; the audio
    excerpt is a file named by `evidence_audio`, kept until the report is closed)."""

    __table_args__ = (
        Index("ix_reports_state_created_at", "state", "created_at"),
        {"sqlite_autoincrement": True},
    )
    __tablename__ = "reports"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    reporter_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), index=True
    )
    kind: Mapped[str] = mapped_column(String(16))
    target_user_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), index=True
    )
    space_id: Mapped[int | None] = mapped_column(
        ForeignKey("spaces.id", ondelete="SET NULL"), index=True
    )
    # The moment reported, on the space's recording timeline (None: the whole user or space).
    moment_ms: Mapped[int | None] = mapped_column(Integer)
    reason: Mapped[str] = mapped_column(String(40))
    note: Mapped[str] = mapped_column(Text, default="")
    state: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime]
    closed_at: Mapped[datetime | None]
    closed_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    outcome: Mapped[str | None] = mapped_column(String(24))
    evidence: Mapped[dict[str, Any]] = mapped_column(JSON)
    evidence_audio: Mapped[str | None] = mapped_column(String(100))
    evidence_audio_start_ms: Mapped[int | None] = mapped_column(Integer)


class AuditEntry(Base):
    """One moderation action: who, in what role, did what, to whom, where, when and why. Kept
    when the people in it are deleted (their ids become None; `details` holds their handles)."""

    __table_args__ = ({"sqlite_autoincrement": True},)
    __tablename__ = "audit_log"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    created_at: Mapped[datetime] = mapped_column(index=True)
    actor_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), index=True
    )
    # host, cohost, moderator, admin or system (the server itself: an idle space's end).
    actor_role: Mapped[str] = mapped_column(String(16))
    action: Mapped[str] = mapped_column(String(40))
    target_user_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), index=True
    )
    space_id: Mapped[int | None] = mapped_column(
        ForeignKey("spaces.id", ondelete="SET NULL"), index=True
    )
    report_id: Mapped[int | None] = mapped_column(ForeignKey("reports.id", ondelete="SET NULL"))
    reason: Mapped[str] = mapped_column(Text, default="")
    details: Mapped[dict[str, Any]] = mapped_column(JSON)


class InviteCode(Base):
    """A code that lets people sign up on an invite-only instance."""

    __tablename__ = "invite_codes"
    code: Mapped[str] = mapped_column(String(32), primary_key=True)
    created_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime | None]
    max_uses: Mapped[int] = mapped_column(Integer, default=1)
    uses: Mapped[int] = mapped_column(Integer, default=0)


class Notice(Base):
    """A message from the instance to one user: a report's receipt and outcome, a warning."""

    __table_args__ = ({"sqlite_autoincrement": True},)
    __tablename__ = "notices"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(24))
    text: Mapped[str] = mapped_column(Text)
    report_id: Mapped[int | None] = mapped_column(ForeignKey("reports.id", ondelete="SET NULL"))
    created_at: Mapped[datetime]
    read_at: Mapped[datetime | None]


class Notification(Base):
    """One thing one user is told (domain/notify.py), with how it reaches them: in the app (the
    row itself), pushed (`push_due` until `pushed_at`), emailed in a batch (`email_after` until
    `emailed_at`). `dedupe_key` makes a notification unique per user: a fan-out run twice
    inserts nothing the second time."""

    __tablename__ = "notifications"
    __table_args__ = (
        UniqueConstraint("user_id", "dedupe_key"),
        Index("ix_notifications_user_id_id", "user_id", "id"),
        {"sqlite_autoincrement": True},
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(16))
    dedupe_key: Mapped[str] = mapped_column(String(120))
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    space_id: Mapped[int | None] = mapped_column(ForeignKey("spaces.id", ondelete="CASCADE"))
    # The words shown in the app, the push and the email.
    text: Mapped[str] = mapped_column(Text)
    # Where it leads in the web client (a path of this instance).
    link: Mapped[str] = mapped_column(String(200), default="/")
    # Shown in the app (False: the user chose push or email alone for this kind).
    in_app: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime]
    read_at: Mapped[datetime | None]
    push_due: Mapped[bool] = mapped_column(Boolean, default=False)
    pushed_at: Mapped[datetime | None]
    email_after: Mapped[datetime | None] = mapped_column(index=True)
    emailed_at: Mapped[datetime | None]


class PushSubscription(Base):
    """A browser's Web Push subscription (its endpoint and keys, RFC 8291), for one user."""

    __table_args__ = ({"sqlite_autoincrement": True},)
    __tablename__ = "push_subscriptions"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    endpoint: Mapped[str] = mapped_column(String(1024), unique=True)
    p256dh: Mapped[str] = mapped_column(String(200))
    auth: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime]


class Reminder(Base):
    """Someone asked to be told when a scheduled space goes live (and of its changes)."""

    __tablename__ = "reminders"
    space_id: Mapped[int] = mapped_column(
        ForeignKey("spaces.id", ondelete="CASCADE"), primary_key=True
    )
    user_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True, index=True
    )
    created_at: Mapped[datetime]


class Fanout(Base):
    """A notification to many (a host's followers and a space's reminded people), told in
    batches by a background job. `cursor` is the last user id told, committed with each batch:
    a job that dies (a restart, a node killed) is taken up again from there by the next one,
    once its claim runs out."""

    __table_args__ = ({"sqlite_autoincrement": True},)
    __tablename__ = "fanouts"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))
    dedupe_key: Mapped[str] = mapped_column(String(120))
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    space_id: Mapped[int | None] = mapped_column(ForeignKey("spaces.id", ondelete="CASCADE"))
    text: Mapped[str] = mapped_column(Text)
    link: Mapped[str] = mapped_column(String(200))
    # Who is told: "followers" (of the actor) and/or "reminded" (of the space), "reposters"...
    audience: Mapped[list[str]] = mapped_column(JSON)
    cursor: Mapped[int] = mapped_column(Integer, default=0)
    told: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime]
    claimed_until: Mapped[datetime | None]
    done_at: Mapped[datetime | None] = mapped_column(index=True)


class Repost(Base):
    """Someone shared a space with their followers: it shows on their home with who shared it."""

    __tablename__ = "reposts"
    space_id: Mapped[int] = mapped_column(
        ForeignKey("spaces.id", ondelete="CASCADE"), primary_key=True
    )
    user_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True, index=True
    )
    created_at: Mapped[datetime]


class Message(Base):
    """A direct message, one to one. An invitation carries a space and the role offered
    (`listen` or `speak`)."""

    __tablename__ = "messages"
    __table_args__ = (
        Index("ix_messages_recipient_id_id", "recipient_id", "id"),
        Index("ix_messages_sender_id_id", "sender_id", "id"),
        {"sqlite_autoincrement": True},
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    sender_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    recipient_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    text: Mapped[str] = mapped_column(Text, default="")
    space_id: Mapped[int | None] = mapped_column(ForeignKey("spaces.id", ondelete="CASCADE"))
    invite_role: Mapped[str | None] = mapped_column(String(16))
    accepted_at: Mapped[datetime | None]
    created_at: Mapped[datetime]
    read_at: Mapped[datetime | None]


class ListenFact(Base):
    """One person on one path in a space, from a moment to a moment (issue 14: the facts host
    analytics are computed from, domain/analytics.py). Written by the node that holds the
    connection, in batches; while open (`ended_at` None) it lasts as long as that node renews its
    lease (`AnalyticsNode`), so the listens of a node that died end when it was last heard of."""

    __tablename__ = "listens"
    __table_args__ = (
        Index("ix_listens_space_id_started_at", "space_id", "started_at"),
        # A node renews its open listens in one statement.
        Index("ix_listens_node_ended_at", "node", "ended_at"),
        {"sqlite_autoincrement": True},
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    space_id: Mapped[int] = mapped_column(ForeignKey("spaces.id", ondelete="CASCADE"))
    # "u{user id}" or "v{digest}" for a visitor (media/urls.py's holders).
    listener: Mapped[str] = mapped_column(String(24))
    path: Mapped[str] = mapped_column(String(8))
    arrival: Mapped[str | None] = mapped_column(String(16))
    node: Mapped[str] = mapped_column(String(200))
    started_at: Mapped[datetime]
    last_seen_at: Mapped[datetime]
    ended_at: Mapped[datetime | None]


class SpaceTally(Base):
    """A count of one kind of interaction in a space (domain/analytics.py `TallyKind`), by key
    (the emoji of a reaction, the user id of a speaker's talk time, else empty)."""

    __tablename__ = "space_tallies"
    space_id: Mapped[int] = mapped_column(
        ForeignKey("spaces.id", ondelete="CASCADE"), primary_key=True
    )
    kind: Mapped[str] = mapped_column(String(16), primary_key=True)
    key: Mapped[str] = mapped_column(String(32), primary_key=True)
    amount: Mapped[int] = mapped_column(Integer)


class AnalyticsNode(Base):
    """When a node last wrote its analytics: the lease of its open listens (one row per node,
    not one update per open listen at every write)."""

    __tablename__ = "analytics_nodes"
    node: Mapped[str] = mapped_column(String(200), primary_key=True)
    renewed_at: Mapped[datetime]
