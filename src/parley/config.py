"""Settings, loaded once from the environment (prefix PARLEY_, plus DATABASE_URL and REDIS_URL)."""

from __future__ import annotations

import os
import secrets
import socket
from pathlib import Path
from typing import Any
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
    # WebRTC listeners this node takes before it sends further listeners to HLS.
    webrtc_listener_capacity: int = 800
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

    def ensure_media_url_secret(self) -> None:
        """Makes the URL-signing secret once and keeps it in the data folder, so a restart does
        not void the URLs handed out (set PARLEY_MEDIA_URL_SECRET on several nodes)."""
        if self.media_url_secret:
            return
        path = self.data_dir / "media-url-secret"
        if not path.is_file():
            path.write_text(secrets.token_urlsafe(32))
            path.chmod(0o600)
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
