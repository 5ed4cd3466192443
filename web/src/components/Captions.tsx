// Live captions in the room (docs/captions.md): the listener's panel above the dock, the notice
// that tells everyone on stage their words are transcribed, and the host's caption settings.
import { useEffect, useLayoutEffect, useRef, useState } from 'preact/hooks';
import { api, errorMessage, post } from '../api';
import { languageName, useCaptionLanguages, useCaptionPrefs } from '../captionPrefs';
import { CAPTION_SIZES, captionText, parseCaptionSize, type CaptionLog } from '../captions';
import { useApp } from '../context';
import type { CaptionLine, Member, Space } from '../types';

/** Within this many pixels of the bottom, the log keeps following new lines. */
const STICK_PX = 24;

/** The text size select, shared by the room's panel and the replay and clip pages. */
export function CaptionSizeSelect({ id }: { id: string }) {
  const [prefs, setPrefs] = useCaptionPrefs();
  return (
    <span class="caption-size">
      <label for={id}>Text size</label>
      <select id={id} value={prefs.size} data-testid="caption-size"
        onChange={(e) => setPrefs({ size: parseCaptionSize(e.currentTarget.value) })}>
        {CAPTION_SIZES.map((s) => <option key={s.value} value={s.value}>{s.label}</option>)}
      </select>
    </span>
  );
}

function CaptionRow({ line, name }: { line: CaptionLine; name: string }) {
  return (
    <p class={`caption-line${line.final ? '' : ' is-partial'}${line.text === null ? ' is-uncaptioned' : ''}`}
      data-testid="caption-line" data-final={line.final ? 'true' : 'false'} data-user-id={line.user_id}>
      {line.text === null
        ? <span class="caption-text">{captionText(line, name)}</span>
        : <><span class="caption-name">{name}:</span> <span class="caption-text">{line.text}</span></>}
    </p>
  );
}

/**
 * The room's captions: final lines with each speaker's line in progress below them (lighter),
 * following the newest unless the listener scrolled up. A log that is silent for screen readers
 * until "Read captions aloud" makes it polite; then only final lines join it (the partials are
 * outside the live region), so nothing is read twice.
 */
export function CaptionsPanel({ log, language, nameOf }: {
  log: CaptionLog;
  /** ISO 639-1: the lines are marked in it, so screen readers pronounce them right. */
  language: string;
  nameOf: (userId: number) => string;
}) {
  const [prefs, setPrefs] = useCaptionPrefs();
  const [settingsOpen, setSettingsOpen] = useState(false);
  const scrollRef = useRef<HTMLDivElement>(null);
  const stick = useRef(true);
  const [following, setFollowing] = useState(true);

  // New lines (or a bigger text size): follow them unless the listener scrolled up to read.
  useLayoutEffect(() => {
    const el = scrollRef.current;
    if (el && stick.current) el.scrollTop = el.scrollHeight;
  }, [log, prefs.size, settingsOpen]);

  const onScroll = () => {
    const el = scrollRef.current;
    if (!el) return;
    const atBottom = el.scrollHeight - el.scrollTop - el.clientHeight <= STICK_PX;
    stick.current = atBottom;
    if (atBottom !== following) setFollowing(atBottom);
  };
  const toLatest = () => {
    const el = scrollRef.current;
    if (!el) return;
    stick.current = true;
    setFollowing(true);
    el.scrollTop = el.scrollHeight;
  };
  const empty = log.finals.length === 0 && log.partials.length === 0;

  return (
    <section class={`captions-panel caption-size-${prefs.size}`} aria-labelledby="captions-title" data-testid="captions-panel">
      <div class="captions-head">
        <h2 id="captions-title" class="captions-title">
          Captions <span class="captions-language">{languageName(language)}</span>
        </h2>
        {!following && (
          <button type="button" class="secondary small" onClick={toLatest} data-testid="captions-latest">
            Latest<span class="sr-only"> captions</span>
          </button>
        )}
        <button type="button" class="secondary small" aria-expanded={settingsOpen} aria-controls="captions-settings"
          onClick={() => setSettingsOpen(!settingsOpen)} data-testid="captions-settings-toggle">
          Settings<span class="sr-only"> for captions</span>
        </button>
      </div>
      <div id="captions-settings" class="captions-settings" hidden={!settingsOpen}>
        <CaptionSizeSelect id="room-caption-size" />
        <button type="button" class="secondary small" aria-pressed={prefs.aloud} data-testid="captions-aloud"
          onClick={() => setPrefs({ aloud: !prefs.aloud })}>
          Read captions aloud
        </button>
      </div>
      {/* Scrolls with the keyboard too (it can take focus); labelled as the captions. */}
      <div class="captions-scroll" ref={scrollRef} onScroll={onScroll} tabIndex={0} role="group"
        aria-labelledby="captions-title" lang={language}>
        <div role="log" aria-live={prefs.aloud ? 'polite' : 'off'} aria-labelledby="captions-title" data-testid="captions-log">
          {log.finals.map((line) => <CaptionRow key={line.id} line={line} name={nameOf(line.user_id)} />)}
        </div>
        <div class="captions-partials">
          {log.partials.map((line) => <CaptionRow key={line.id} line={line} name={nameOf(line.user_id)} />)}
        </div>
        {empty && <p class="hint caption-empty" lang="en">Captions appear here when someone on stage speaks.</p>}
      </div>
    </section>
  );
}

/**
 * Told to everyone on stage while captions are on: their words are transcribed; with the way to
 * stop captioning their own voice (and to allow it again).
 */
export function SpeakerCaptionNotice({ spaceId, me }: { spaceId: number; me: Member }) {
  const { showError } = useApp();
  const [busy, setBusy] = useState(false);
  const toggle = async () => {
    if (busy) return;
    const captioned = !me.captioned;
    setBusy(true);
    showError(null);
    try {
      // The room's member_updated says it (room.ts), once.
      await post(`/api/spaces/${spaceId}/me/captions`, { captioned });
    } catch (err) {
      showError(errorMessage(err));
    } finally {
      setBusy(false);
    }
  };
  return (
    <div class="dock-notice" data-testid="captions-notice" data-captioned={me.captioned ? 'true' : 'false'}>
      <p>
        <span aria-hidden="true" class="cc-glyph">CC</span>{' '}
        {me.captioned ? 'Captions are on: what you say is transcribed.' : 'Captions are on, but not for your voice.'}
      </p>
      <button type="button" class="link-button" aria-disabled={busy || undefined} data-testid="captions-consent"
        onClick={() => void toggle()}>
        {me.captioned ? 'Stop captioning my voice' : 'Caption my voice'}
      </button>
    </div>
  );
}

/** The spoken-language select: every language the engine knows, by name. */
function LanguageSelect({ id, value, onChange, describedBy, disabled }: {
  id: string; value: string; onChange: (code: string) => void; describedBy?: string; disabled?: boolean;
}) {
  const languages = useCaptionLanguages();
  const options = languages?.options ?? [];
  const known = options.some((o) => o.code === value);
  return (
    <select id={id} value={value} aria-describedby={describedBy} aria-disabled={disabled || undefined}
      data-testid="caption-language" onChange={(e) => onChange(e.currentTarget.value)}>
      {!known && <option value={value}>{languageName(value)}</option>}
      {options.map((o) => <option key={o.code} value={o.code}>{o.name}</option>)}
    </select>
  );
}

/** The create form's part: live captions on or off, and the language spoken. */
export function NewSpaceCaptions({ captions, language, onCaptions, onLanguage }: {
  captions: boolean; language: string | null;
  onCaptions: (on: boolean) => void; onLanguage: (code: string) => void;
}) {
  const languages = useCaptionLanguages();
  if (!languages) return null; // asked, or the server offers no captions
  return (
    <fieldset class="caption-fields">
      <legend>Captions</legend>
      <div class="checkbox">
        <input type="checkbox" id="space-captions" name="captions" checked={captions}
          aria-describedby="space-captions-hint" onChange={(e) => onCaptions(e.currentTarget.checked)} />
        <label for="space-captions">Live captions</label>
        <p class="hint" id="space-captions-hint">
          What is said on stage is transcribed as it is spoken, for listeners who turn captions on,
          and kept as a transcript with the recording. Everyone on stage is told and can switch it
          off for their own voice.
        </p>
      </div>
      {captions && (
        <div class="field">
          <label for="space-caption-language">Spoken language</label>
          <LanguageSelect id="space-caption-language" value={language ?? languages.defaultLanguage} onChange={onLanguage} />
        </div>
      )}
    </fieldset>
  );
}

/**
 * Hosts and co-hosts: turn live captions on or off and set the language, scheduled or live.
 * `announce`: say the change here (a scheduled space has no room socket to say it).
 */
export function CaptionSettings({ space, announceChanges = false }: { space: Space; announceChanges?: boolean }) {
  const { showError, announce } = useApp();
  const languages = useCaptionLanguages();
  const [captions, setCaptions] = useState(space.captions);
  const [language, setLanguage] = useState(space.caption_language);
  const [busy, setBusy] = useState(false);
  useEffect(() => setCaptions(space.captions), [space.captions]);
  useEffect(() => setLanguage(space.caption_language), [space.caption_language]);

  const patch = async (body: { captions?: boolean; caption_language?: string }) => {
    if (busy) return;
    setBusy(true);
    showError(null);
    try {
      const result = await api<{ space: Space } | null>('PATCH', `/api/spaces/${space.id}`, body);
      if (result?.space) {
        setCaptions(result.space.captions);
        setLanguage(result.space.caption_language);
      }
      if (!announceChanges) return;
      if (body.captions !== undefined) announce(body.captions ? 'Live captions turned on' : 'Live captions turned off');
      else if (body.caption_language) announce(`Caption language: ${languageName(body.caption_language)}`);
    } catch (err) {
      setCaptions(space.captions);
      setLanguage(space.caption_language);
      showError(errorMessage(err));
    } finally {
      setBusy(false);
    }
  };

  if (languages === null) return <p class="hint">Live captions are not available on this server.</p>;
  return (
    <div class="caption-settings" data-testid="caption-settings">
      <div class="checkbox">
        <input type="checkbox" id="room-captions" checked={captions} aria-describedby="room-captions-hint"
          onChange={(e) => {
            const on = e.currentTarget.checked;
            setCaptions(on);
            void patch({ captions: on });
          }} />
        <label for="room-captions">Live captions</label>
        <p class="hint" id="room-captions-hint">Everyone on stage is told, and may switch it off for their own voice.</p>
      </div>
      <div class="field">
        <label for="room-caption-language">Spoken language</label>
        <LanguageSelect id="room-caption-language" value={language} disabled={busy}
          onChange={(code) => {
            setLanguage(code);
            void patch({ caption_language: code });
          }} />
      </div>
    </div>
  );
}
