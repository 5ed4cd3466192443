"""The embeddable player (issue 13): `/embed/s/{id}`, `/embed/s/{id}/replay` and
`/embed/clips/{id}`, small self-contained pages other sites put in an iframe (oEmbed's `html`,
api/routes_sharing.py). Listen-only: they need no cookie (the player asks for a visitor's HLS
link, `credentials: "omit"`), and show only what the space's public link shows.

One inline style and one inline module script, the same on every page (what changes is in the
markup's data- attributes), so the page's Content-Security-Policy allows them by their hashes;
its `frame-ancestors *` lets any site frame it (headers.py sends no X-Frame-Options then).
hls.js (its light build) comes from the web client's build when there is one; without it the
browser's own HLS plays (Safari), and elsewhere the page says to listen on Parley.
"""

from __future__ import annotations

import html
from dataclasses import dataclass
from datetime import datetime

from starlette.types import Scope

from parley.actions.sharing import Embeddable
from parley.api.headers import ANY_FRAMING, page_policy, script_hash
from parley.api.static import STATIC_DIR
from parley.domain.space import SpaceState

# The player's size in an oEmbed answer (its page fills whatever frame it is given).
WIDTH, HEIGHT = 480, 220
SITE_NAME = "Parley"

_STYLE = """
:root { color-scheme: light dark; --fg: #1e1b4b; --muted: #4b5563; --bg: #fff; --line: #ddd6fe;
  --accent: #4338ca; --on-accent: #fff; }
@media (prefers-color-scheme: dark) {
  :root { --fg: #ede9fe; --muted: #c4c4cc; --bg: #18162e; --line: #3730a3; --accent: #a5b4fc;
    --on-accent: #1e1b4b; }
}
* { box-sizing: border-box; }
html, body { margin: 0; height: 100%; }
body { font: 15px/1.4 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: var(--fg);
  background: var(--bg); }
main { height: 100%; padding: 14px 16px; border: 1px solid var(--line); border-radius: 12px;
  display: flex; flex-direction: column; gap: 8px; overflow: hidden; }
.state { margin: 0; font-size: 13px; font-weight: 600; color: var(--muted); }
.state.live { color: #dc2626; }
h1 { margin: 0; font-size: 18px; line-height: 1.3; overflow-wrap: anywhere; display: -webkit-box;
  -webkit-line-clamp: 2; -webkit-box-orient: vertical; overflow: hidden; }
.host { margin: 0; display: flex; align-items: center; gap: 8px; color: var(--muted); }
.host img { border-radius: 50%; }
.actions { margin-top: auto; display: flex; align-items: center; gap: 12px; flex-wrap: wrap; }
button { font: inherit; font-weight: 600; padding: 8px 16px; border: 0; border-radius: 999px;
  background: var(--accent); color: var(--on-accent); cursor: pointer; }
button:focus-visible, a:focus-visible { outline: 3px solid var(--accent); outline-offset: 2px; }
a { color: var(--accent); font-weight: 600; }
audio { width: 100%; }
audio:not([controls]) { display: none; }
[role=status] { margin: 0; font-size: 13px; color: var(--muted); }
"""

_SCRIPT = """
for (const t of document.querySelectorAll('time[datetime]')) {
  const at = new Date(t.dateTime);
  if (!Number.isNaN(at.getTime())) {
    t.textContent = at.toLocaleString(undefined, { dateStyle: 'medium', timeStyle: 'short' });
  }
}
const root = document.getElementById('player');
if (root) {
  const audio = root.querySelector('audio');
  const button = root.querySelector('button');
  const status = root.querySelector('[role=status]');
  const live = root.dataset.kind === 'live';
  const source = root.dataset.source;
  const hlsPath = root.dataset.hls;
  const idle = button.textContent;
  let folders = [];
  let player = null;
  let started = false;
  let failures = 0;
  let renewTimer = 0;
  const say = (text) => { status.textContent = text; };
  const folderOf = (url) => new URL(url, location.href).pathname.replace(/[^/]*$/, '');
  // A signed link expires (a live one within minutes): a fresh one is fetched before, and
  // every later request is moved under its folder (the signature is part of the path).
  const rewrite = (url) => {
    const found = new URL(url, location.href);
    const now = folders[folders.length - 1];
    for (const old of folders) {
      if (old !== now && found.pathname.startsWith(old)) {
        found.pathname = now + found.pathname.slice(old.length);
        return found.href;
      }
    }
    return url;
  };
  const fetchSource = async () => {
    const response = await fetch(source, { credentials: 'omit', cache: 'no-store' });
    if (!response.ok) {
      throw Object.assign(new Error('HTTP ' + response.status), { status: response.status });
    }
    const body = await response.json();
    const url = live ? body.hls_url : body.replay.playlist_url;
    folders.push(folderOf(url));
    if (folders.length > 8) folders.splice(1, 1);
    clearTimeout(renewTimer);
    if (live && body.hls_expires_in_s) renewTimer = setTimeout(renew, body.hls_expires_in_s * 750);
    return url;
  };
  const renew = () => {
    fetchSource().catch(() => { renewTimer = setTimeout(renew, 5000); });
  };
  const refused = {
    401: 'This space needs an account: listen on Parley.',
    409: 'This space is not live.',
    503: 'This space is full for visitors: listen on Parley.',
  };
  const teardown = () => {
    clearTimeout(renewTimer);
    if (player) { player.destroy(); player = null; }
    if (audio.getAttribute('src')) { audio.removeAttribute('src'); audio.load(); }
    folders = [];
  };
  const play = () => {
    audio.play().catch(() => { button.textContent = idle; say('Press play to listen.'); });
  };
  const start = async () => {
    say('Connecting…');
    let url;
    try {
      url = await fetchSource();
    } catch (error) {
      started = false;
      say(refused[error.status] || 'Could not connect: listen on Parley.');
      return;
    }
    let Hls = null;
    if (hlsPath) {
      try { Hls = (await import(hlsPath)).default; } catch { Hls = null; }
    }
    if (Hls && Hls.isSupported()) {
      const hls = new Hls({
        backBufferLength: live ? 30 : 90,
        xhrSetup: (xhr, requested) => { xhr.open('GET', rewrite(requested), true); },
      });
      player = hls;
      hls.on(Hls.Events.ERROR, (_event, data) => { if (data.fatal && player === hls) restart(); });
      hls.on(Hls.Events.MANIFEST_PARSED, () => { if (player === hls) play(); });
      hls.loadSource(url);
      hls.attachMedia(audio);
    } else if (audio.canPlayType('application/vnd.apple.mpegurl')) {
      audio.src = url;
      play();
    } else {
      teardown();
      started = false;
      say('This browser cannot play it here: listen on Parley.');
      return;
    }
    if (!live) { audio.controls = true; button.hidden = true; }
  };
  const restart = () => {
    teardown();
    failures += 1;
    if (failures > 5) {
      started = false;
      button.textContent = idle;
      say('Lost: listen on Parley.');
      return;
    }
    say('Reconnecting…');
    setTimeout(start, 1000 * 2 ** (failures - 1));
  };
  audio.addEventListener('error', () => { if (!player && audio.getAttribute('src')) restart(); });
  audio.addEventListener('playing', () => {
    failures = 0;
    button.textContent = 'Pause';
    say(live ? 'Playing live' : '');
  });
  audio.addEventListener('pause', () => { button.textContent = idle; });
  button.addEventListener('click', () => {
    if (!started) { started = true; button.textContent = 'Pause'; start(); return; }
    if (audio.paused) {
      if (player && live && player.liveSyncPosition) audio.currentTime = player.liveSyncPosition;
      play();
    } else {
      audio.pause();
    }
  });
}
"""

_POLICY_OPTIONS = {
    "script_hashes": (script_hash(_SCRIPT),),
    "style_hashes": (script_hash(_STYLE),),
    "frame_ancestors": ANY_FRAMING,
}


def policy(scope: Scope, public_url: str) -> str:
    """The embed page's Content-Security-Policy: our own policy, its inline style and script
    allowed by their hashes, and framed by any site."""
    return page_policy(scope, public_url, **_POLICY_OPTIONS)


def hls_script() -> str:
    """The web client's hls.js chunk (an ES module, its name hashed by the build); '' when the
    client is not built."""
    found = sorted(
        (STATIC_DIR / "assets").glob("hls.light-*.js"), key=lambda path: path.stat().st_mtime
    )
    return f"/assets/{found[-1].name}" if found else ""


def _e(text: str) -> str:
    return html.escape(text, quote=True)


@dataclass(frozen=True)
class Player:
    """The play button's data: what it plays and where the player asks for its link."""

    kind: str  # "live" or "replay"
    source: str
    label: str


def _time(at: datetime) -> str:
    return f'<time datetime="{_e(at.isoformat())}">{_e(f"{at:%a %d %b %Y, %H:%M} UTC")}</time>'


def _state(embed: Embeddable) -> tuple[str, str]:
    """The state line (markup) and its class."""
    space = embed.page.space
    if embed.kind == "clip":
        assert embed.clip is not None
        return _e(f"Clip · {embed.clip.duration_s:.0f} s"), ""
    if embed.kind == "replay":
        return "Replay", ""
    if space.state is SpaceState.LIVE:
        listening = space.listener_count
        return ("Live now" + (f" · {listening} listening" if listening else "")), "live"
    if space.state is SpaceState.SCHEDULED and space.scheduled_for is not None:
        return "Scheduled for " + _time(space.scheduled_for), ""
    if space.state is SpaceState.ENDED:
        return "Ended", ""
    return "Canceled", ""


def _actions(embed: Embeddable, hls: str) -> str:
    """The player, and the links out (in a new tab: the embed stays on the page it is on)."""
    space = embed.page.space
    out = 'target="_blank" rel="noopener"'
    player: Player | None = None
    links: list[tuple[str, str]] = []
    if embed.kind == "clip":
        assert embed.clip is not None
        audio = f'<audio controls preload="none" src="{_e(embed.clip.audio_url)}"></audio>'
        link = f'<a href="{_e(embed.page_path)}" {out}>Open on {SITE_NAME}</a>'
        return f'{audio}<div class="actions">{link}</div>'
    if embed.kind == "replay":
        player = Player("replay", f"/api/spaces/{space.id}/replay", "▶ Play the replay")
        links.append((embed.page_path, f"Open on {SITE_NAME}"))
    elif space.state is SpaceState.LIVE and embed.page.open_to_visitors:
        # `via=embed`: the host's analytics count who came through an embed (issue 14).
        player = Player("live", f"/api/spaces/{space.id}/listen?via=embed", "▶ Listen live")
        links.append((f"{embed.page_path}?via=embed", f"Listen on {SITE_NAME}"))
    elif space.state is SpaceState.ENDED and embed.page.replay_published:
        links.append((f"/s/{space.id}/replay", "Play the replay"))
    elif space.state is SpaceState.LIVE:
        links.append((f"{embed.page_path}?via=embed", f"Listen on {SITE_NAME}"))
    elif space.state is SpaceState.SCHEDULED:
        links.append((f"{embed.page_path}?via=embed", f"Get a reminder on {SITE_NAME}"))
    else:
        # Canceled, or ended without a replay: nothing to listen to.
        links.append((embed.page_path, f"Open on {SITE_NAME}"))
    anchors = "".join(f'<a href="{_e(href)}" {out}>{_e(text)}</a>' for href, text in links)
    if player is None:
        return f'<div class="actions">{anchors}</div>'
    return (
        f'<div id="player" data-kind="{player.kind}" data-source="{_e(player.source)}"'
        f' data-hls="{_e(hls)}">'
        f'<audio preload="none"></audio>'
        f'<div class="actions"><button type="button">{_e(player.label)}</button>{anchors}</div>'
        f'<p role="status" aria-live="polite"></p></div>'
    )


def page(embed: Embeddable) -> str:
    """The embed's whole page, every value escaped."""
    host = embed.host
    avatar = (
        f'<img src="{_e(host.avatar_url)}" alt="" width="28" height="28">'
        if host.avatar_url
        else ""
    )
    state, state_class = _state(embed)
    lines = [
        "<!doctype html>",
        '<html lang="en">',
        '<head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        '<meta name="robots" content="noindex">',
        f"<title>{_e(embed.title)} · {SITE_NAME}</title>",
        f"<style>{_STYLE}</style>",
        "</head>",
        "<body>",
        f'<main aria-label="{_e(embed.title)} on {SITE_NAME}">',
        f'<p class="state {state_class}">{state}</p>',
        f"<h1>{_e(embed.title)}</h1>",
        f'<p class="host">{avatar}<span>{_e(host.display_name)} · @{_e(host.handle)}</span></p>',
        _actions(embed, hls_script()),
        "</main>",
        f'<script type="module">{_SCRIPT}</script>',
        "</body>",
        "</html>",
    ]
    return "\n".join(lines)
