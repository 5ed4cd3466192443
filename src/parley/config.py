"""Settings, loaded once from the environment (prefix PARLEY_, plus DATABASE_URL and REDIS_URL)."""

from __future__ import annotations

import os
import re
import secrets
import socket
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit

from pydantic import AliasChoices, Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="PARLEY_", extra="ignore", populate_by_name=True)

    data_dir: Path = Path("data")
    # Empty means the embedded default: a SQLite file in data_dir.
    database_url: str = Field(
        default="", validation_alias=AliasChoices("DATABASE_URL", "PARLEY_DATABASE_URL")
    )
    # Empty means the in-process bus (one node).
    redis_url: str = Field(
        default="", validation_alias=AliasChoices("REDIS_URL", "PARLEY_REDIS_URL")
    )
    # The instance's name on a shared Redis: its channels are `{namespace}:...`, so two instances
    # (staging and production, two test runs) on one Redis never hear each other.
    bus_namespace: str = Field(default="parley", pattern=r"^[A-Za-z0-9_.-]{1,64}$")
    host: str = "127.0.0.1"
    port: int = 8000
    # Cookies marked Secure: set it when served over HTTPS.
    secure_cookies: bool = False
    session_days: int = 30
    min_followers_to_host: int = 0
    host_grace_s: float = 180.0
    grace_check_interval_s: float = 5.0
    # Live spaces one host may run at once (0: no limit); scheduled ones count once started.
    max_live_spaces_per_host: int = Field(default=1, ge=0)
    # A live space nobody is connected to ends after this long without its host (0: never;
    # domain/idle.py). It matters when host_grace_s is the longer.
    idle_space_end_s: float = Field(default=600.0, ge=0)
    # The public feed of spaces changing (/api/feed): sockets open at once per node and per
    # client address.
    feed_max_sockets: int = 10_000
    feed_sockets_per_address: int = 8
    reaction_burst: float = 10.0
    reaction_rate_per_s: float = 2.0
    reaction_window_ms: int = 100
    presence_interval_s: float = 1.0
    heartbeat_interval_s: float = 15.0
    heartbeat_timeout_s: float = 45.0
    events_kept_per_space: int = 1000
    # WebRTC. ICE servers as RTCIceServer fields, e.g. [{"urls": "turn:turn.example:3478",
    # "username": "u", "credential": "p"}]; none by default: no outside server is contacted.
    ice_servers: list[dict[str, Any]] = []
    # ICE servers handed to WHIP/WHEP clients in the answer's Link header (RFC 9725 s4.6), for
    # tools that take them from the endpoint (OBS). Separate from `ice_servers` and empty by
    # default: whatever credential is here is given to every member who opens a session, so use
    # STUN only, or a TURN account meant for that.
    client_ice_servers: list[dict[str, Any]] = []
    # The address to advertise in ICE candidates when the server sits behind a 1:1 NAT.
    media_public_ip: str = ""
    # Where people reach this instance, e.g. "https://parley.example" (its origin is always
    # allowed to use WHIP/WHEP); empty: the origin each request came to.
    public_url: str = ""
    # Other origins whose pages may publish and listen over WHIP/WHEP (api/cors.py), as a JSON
    # list: ["https://studio.example"]. None by default.
    cors_origins: list[str] = []
    # The largest request body read (issue 12): larger ones are answered 413 before they are
    # read. Room for a profile picture (5 MiB, domain/avatars.py) and more.
    max_request_body_bytes: int = Field(default=8 * 1024 * 1024, ge=1024)
    # Room sockets one user may have open at once on one node (tabs, devices); past it: 4429.
    room_sockets_per_user: int = Field(default=10, ge=1)
    # Opus bitrate of each stage member's mix-minus, and the most a publisher may send us.
    stage_bitrate: int = 64000
    # Opus bitrate and frame length of the mix sent to WebRTC listeners (encoded once). 60 ms
    # frames mean a third of the packets to protect and send per listener (bench/listener_fanout
    # .py: about twice the listeners per core of 20 ms) for 40 ms more delay (~90 ms in all).
    # 96 kbit/s: the mix is the second Opus encode in a row (after the speaker's browser), and at
    # 60 ms frames 64 kbit/s left PESQ below 4.0 (bench/audio_quality.py, docs/benchmarks.md).
    listener_bitrate: int = 96000
    listener_frame_ms: int = 60
    # Send listener packets from one fan-out loop (media/fanout.py), not a sender per listener.
    listener_fast_path: bool = True
    # HLS of every live space (media/hls.py): AAC bitrate, segments in the live playlist.
    hls_bitrate: int = 64000
    hls_window_segments: int = 6
    # Playlist and segment URLs carry a signature that expires (nginx `secure_link` checks the
    # same one); empty: a secret is made once and kept in data_dir/media-url-secret.
    media_url_secret: str = ""
    hls_url_ttl_s: int = 6 * 3600
    # Live links name their holder and live this long (issue 12): a listener removed or blocked
    # gets no new one from /listen, so behind nginx their link dies within it (web/src/audio.ts
    # renews ahead). Recordings and replays keep `hls_url_ttl_s`.
    hls_live_url_ttl_s: int = Field(default=90, ge=1)
    # The app's own /hls route refuses a removed holder at once; its verdict is kept this long.
    hls_holder_check_s: float = Field(default=5.0, ge=0)
    # WebRTC listeners this node takes before it sends further listeners to HLS.
    webrtc_listener_capacity: int = 800
    # WHEP (listen) and WHIP (publish) sessions of one user on this node, each kind, in one space
    # (one, and one more while a client reconnects), and in all; past them 429 (issue 12: one
    # user held every listener slot with offers that never connect).
    webrtc_sessions_per_user_space: int = Field(default=2, ge=1)
    webrtc_sessions_per_user: int = Field(default=6, ge=1)
    # An answered offer whose connection is not up (ICE and DTLS done) this long is closed.
    webrtc_connect_timeout_s: float = Field(default=15.0, gt=0)
    # Clips cost ~50-100 ms of CPU each (decode and encode): a burst per user, then one per 10 s.
    clip_burst: float = 3.0
    clip_rate_per_s: float = 0.1
    # A new profile picture is decoded and re-encoded (~10-100 ms of CPU): a burst per user, then
    # one a minute.
    avatar_burst: float = 5.0
    avatar_rate_per_s: float = 1 / 60
    # Each search scans the people or spaces it matches: a burst per user (or per client address
    # for visitors, as uvicorn reports it: behind a proxy set FORWARDED_ALLOW_IPS), then 2 a second
    # (the web client's search page asks for people and spaces at once: two searches).
    search_burst: float = 20.0
    search_rate_per_s: float = 2.0
    # Visitors (people without an account) may listen to live spaces whose host did not ask for
    # accounts, over HLS, and open the room's socket read-only.
    visitors_can_listen: bool = True
    # Per client address (as uvicorn reports it: behind a proxy on another machine set
    # FORWARDED_ALLOW_IPS): a burst of visitor listen answers and socket opens, then this rate.
    visitor_burst: float = 20.0
    visitor_rate_per_s: float = 1.0
    # Open visitor sockets: per client address on one node, and per space over every node.
    visitor_sockets_per_address: int = 20
    visitors_per_space: int = 10000
    # Each node's visitor count of a space is a row renewed every third of this: a node that
    # stops renewing (crashed) has its visitors dropped from the count this long after.
    visitor_lease_s: float = 60.0
    # Record every live space (an instance setting); recordings and clips are purged
    # `retention_days` after their space ended, checked every `purge_interval_s`.
    record_spaces: bool = True
    retention_days: int = 30
    purge_interval_s: float = 3600.0
    # A node's count of a member's connections (room sockets, media sessions) is its own,
    # renewed three times per lease: a node killed without a goodbye loses them after this.
    connection_lease_s: float = 30.0
    # Trust and safety (docs/moderation.md). Who may make an account: open, invite (a code an
    # admin or moderator made) or approval (an admin approves each new account).
    signup_mode: Literal["open", "invite", "approval"] = "open"
    # The reasons a report chooses from (the instance's own list); "other" asks for a note.
    report_reasons: list[str] = Field(
        default=[
            "spam",
            "harassment",
            "hate",
            "violence",
            "sexual_content",
            "impersonation",
            "misinformation",
            "other",
        ],
        min_length=1,
        max_length=40,
    )
    # Reports a user may file: a burst, then one a minute.
    report_burst: float = 10.0
    report_rate_per_s: float = 1 / 60
    # Live captions (captions/): the speech engine (whisper-base: multilingual; whisper-tiny.en:
    # English only, lighter, for small machines), the language a space gets unless its host
    # picks another, and the threads transcribing at once (0: one per two cores, at least one).
    caption_engine: str = Field(
        default="whisper-base", pattern=r"^(whisper-base|whisper-tiny\.en)$"
    )
    # Checked against the engine's languages when the server starts (actions/captions.py).
    caption_language: str = Field(default="en", pattern=r"^[a-z]{2,3}$")
    caption_workers: int = Field(default=0, ge=0, le=64)
    # The final lines a room's snapshot carries (someone who joins late reads them at once).
    caption_lines_in_snapshot: int = Field(default=20, ge=0, le=200)
    # This node's name on the recordings it writes (resumed by it after a restart).
    node_name: str = ""
    # argon2id cost; lower only for tests and benchmarks.
    password_time_cost: int = 3
    password_memory_kib: int = 65536
    # Sign-in and sign-up limits (domain/signin_limits.py, docs/api.md). Every attempt from one
    # client address (as uvicorn reports it: behind a proxy set FORWARDED_ALLOW_IPS): a burst
    # (a room of people behind one NAT), then one every 10 s. Sign-ups alone: then one a minute.
    auth_address_burst: float = Field(default=60.0, ge=1)
    auth_address_rate_per_s: float = Field(default=0.1, gt=0)
    signup_address_burst: float = Field(default=60.0, ge=1)
    signup_address_rate_per_s: float = Field(default=1 / 60, gt=0)
    # Failed sign-ins at one handle: this many in a row from one address are answered at once,
    # then each waits twice the one before (from 1 s) up to `signin_max_wait_s`; from all
    # addresses together `signin_account_free_failures` (but not at an address the account
    # signed in from). A success resets them; a lock is never longer than the cap.
    signin_free_failures: int = Field(default=5, ge=1)
    signin_account_free_failures: int = Field(default=20, ge=1)
    signin_max_wait_s: float = Field(default=900.0, ge=1, le=3600)
    # Notifications (issue 13, docs/notifications.md). Background jobs: worker threads per node
    # (their jobs run on the event loop; the threads only wait), people told per batch of a
    # fan-out, and how long a fan-out's claim lasts before another job may take it up.
    job_workers: int = Field(default=2, ge=1, le=16)
    fanout_batch: int = Field(default=1000, ge=1, le=10_000)
    fanout_claim_s: float = Field(default=60.0, ge=1)
    # Web Push: the VAPID private key (PEM; every node of an instance needs the same one);
    # empty: made once and kept in data_dir/vapid-private.pem. The contact the push services
    # see (`mailto:` or `https:`); empty: mailto:parley@ the public URL's host.
    vapid_private_key: str = ""
    vapid_subject: str = ""
    # Accept push endpoints over plain http (the tests' local push service); browsers' are https.
    push_allow_http: bool = False
    # Email: an SMTP server (empty host: no email is sent, and the email channel is not
    # offered), its login, STARTTLS, the sender, and how often batches go out.
    smtp_host: str = ""
    smtp_port: int = Field(default=25, ge=1, le=65535)
    smtp_username: str = ""
    smtp_password: str = ""
    smtp_starttls: bool = False
    mail_from: str = "Parley <parley@localhost>"
    email_batch_interval_s: float = Field(default=300.0, ge=1)
    # Direct messages: how many one person may send (a burst, then one per this many seconds).
    message_burst: float = Field(default=20.0, ge=1)
    message_interval_s: float = Field(default=6.0, gt=0)
    # Host analytics (issue 14, docs/analytics.md): whether listening and interactions are
    # recorded, how often a node writes what it gathered (one transaction each time; a crash
    # loses at most this much), and how long an HLS-only listener (an outside player) counts
    # as still there after their last playlist fetch.
    analytics: bool = True
    analytics_flush_s: float = Field(default=5.0, gt=0, le=60)
    # At least a segment's length (1 s): a listen ends a segment after its last fetch.
    analytics_hls_idle_s: float = Field(default=12.0, ge=1, le=300)
    # Operators (docs/operations.md): GET /metrics answers only with `Authorization: Bearer`
    # and this token (empty: /metrics is off); logs as plain text or as JSON lines.
    metrics_token: str = ""
    log_format: Literal["text", "json"] = "text"

    @property
    def resolved_vapid_subject(self) -> str:
        if self.vapid_subject:
            return self.vapid_subject
        host = urlsplit(self.public_url).hostname if self.public_url else None
        return f"mailto:parley@{host or 'localhost'}"

    @property
    def resolved_caption_workers(self) -> int:
        return self.caption_workers or max(1, (os.cpu_count() or 1) // 2)

    @field_validator("cors_origins")
    @classmethod
    def _origins(cls, origins: list[str]) -> list[str]:
        for origin in origins:
            parts = urlsplit(origin)
            bare = parts.path in ("", "/") and not parts.query and not parts.fragment
            if parts.scheme not in ("http", "https") or not parts.netloc or not bare:
                raise ValueError(f"{origin!r} is not an origin like https://studio.example")
        return origins

    @field_validator("public_url")
    @classmethod
    def _public_url(cls, url: str) -> str:
        parts = urlsplit(url)
        if url and (parts.scheme not in ("http", "https") or not parts.netloc):
            raise ValueError(f"{url!r} is not a URL like https://parley.example")
        return url

    @field_validator("report_reasons")
    @classmethod
    def _report_reasons(cls, reasons: list[str]) -> list[str]:
        for reason in reasons:
            if not re.fullmatch(r"[a-z][a-z0-9_]{0,39}", reason):
                raise ValueError(f"{reason!r}: a report reason is a lowercase word (a-z, 0-9, _)")
        if len(set(reasons)) != len(reasons):
            raise ValueError("report reasons must be distinct")
        return reasons

    @field_validator("client_ice_servers")
    @classmethod
    def _client_ice_servers(cls, servers: list[dict[str, Any]]) -> list[dict[str, Any]]:
        # They go out in a header: printable ASCII only, and nothing that ends a quoted string.
        for server in servers:
            urls = server.get("urls")
            values = [urls] if isinstance(urls, str) else urls
            if not values or not all(isinstance(url, str) and url for url in values):
                raise ValueError('each ICE server needs "urls": a string or a list of them')
            for value in [*values, server.get("username", ""), server.get("credential", "")]:
                if not isinstance(value, str) or not all(" " <= c <= "~" for c in value):
                    raise ValueError(f"{value!r}: ICE server fields are printable ASCII")
                if '"' in value or "\\" in value or "<" in value or ">" in value:
                    raise ValueError(f"{value!r}: no quotes, brackets or backslashes here")
        return servers

    def ensure_data_dir(self) -> None:
        """Makes the data folder if it is not there: others may not list it (0711), but nginx,
        as another user, may still reach the media folder inside it."""
        self.data_dir.parent.mkdir(parents=True, exist_ok=True)
        try:
            self.data_dir.mkdir(mode=0o711)
        except FileExistsError:
            return
        self.data_dir.chmod(0o711)  # mkdir's mode is cut by the umask

    def ensure_media_url_secret(self) -> None:
        """Makes the URL-signing secret once and keeps it in the data folder, so a restart does
        not void the URLs handed out (set PARLEY_MEDIA_URL_SECRET on several nodes)."""
        if self.media_url_secret:
            return
        path = self.data_dir / "media-url-secret"
        if not path.is_file():
            # Readable by our user only from its first byte.
            descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(descriptor, "w") as file:
                file.write(secrets.token_urlsafe(32))
        self.media_url_secret = path.read_text().strip()

    @property
    def media_dir(self) -> Path:
        return self.data_dir / "media"

    @property
    def resolved_node_name(self) -> str:
        return self.node_name or f"{socket.gethostname()}:{self.port}"

    @property
    def resolved_database_url(self) -> str:
        if self.database_url:
            url = self.database_url
            # Accept the usual postgres:// spellings and pick the async driver.
            for prefix in ("postgres://", "postgresql://"):
                if url.startswith(prefix):
                    return "postgresql+asyncpg://" + url[len(prefix) :]
            return url
        return f"sqlite+aiosqlite:///{(self.data_dir / 'parley.db').resolve()}"
