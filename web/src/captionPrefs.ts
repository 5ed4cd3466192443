// A listener's caption settings, remembered in localStorage and shared by every page that shows
// captions (room, replay, clip): shown or not, text size, read aloud. Also the instance's
// spoken languages (GET /api/captions), asked once.
import { useEffect, useState } from 'preact/hooks';
import { get } from './api';
import { languageOptions, parseCaptionSize, type CaptionSize, type LanguageOption } from './captions';
import type { CaptionsInfo } from './types';

export interface CaptionPrefs {
  /** Show captions (the CC toggle). */
  shown: boolean;
  size: CaptionSize;
  /** The room's caption log is a polite live region: final lines are read out. */
  aloud: boolean;
}

const KEYS = { shown: 'parley.captions', size: 'parley.captionSize', aloud: 'parley.captionsAloud' } as const;

function read(key: string): string | null {
  try {
    return localStorage.getItem(key);
  } catch {
    return null; // storage blocked: settings last for this page only
  }
}

function write(key: string, value: string): void {
  try {
    localStorage.setItem(key, value);
  } catch {
    /* storage blocked or full: keep the setting in memory */
  }
}

let prefs: CaptionPrefs | null = null;
const listeners = new Set<() => void>();

export function captionPrefs(): CaptionPrefs {
  prefs ??= {
    shown: read(KEYS.shown) === 'on',
    size: parseCaptionSize(read(KEYS.size)),
    aloud: read(KEYS.aloud) === 'on',
  };
  return prefs;
}

export function setCaptionPrefs(change: Partial<CaptionPrefs>): void {
  const next = { ...captionPrefs(), ...change };
  prefs = next;
  if (change.shown !== undefined) write(KEYS.shown, next.shown ? 'on' : 'off');
  if (change.size !== undefined) write(KEYS.size, next.size);
  if (change.aloud !== undefined) write(KEYS.aloud, next.aloud ? 'on' : 'off');
  for (const listener of [...listeners]) listener();
}

/** The caption settings, re-rendering when any page changes them. */
export function useCaptionPrefs(): [CaptionPrefs, (change: Partial<CaptionPrefs>) => void] {
  const [value, setValue] = useState(captionPrefs);
  useEffect(() => {
    const listener = () => setValue(captionPrefs());
    listeners.add(listener);
    listener();
    return () => {
      listeners.delete(listener);
    };
  }, []);
  return [value, setCaptionPrefs];
}

let displayNames: Intl.DisplayNames | null | undefined;

/** A language's name in the reader's language ("French" for "fr"), or the code. */
export function languageName(code: string): string {
  if (displayNames === undefined) {
    try {
      displayNames = new Intl.DisplayNames([navigator.language, 'en'], { type: 'language' });
    } catch {
      displayNames = null;
    }
  }
  try {
    return displayNames?.of(code) ?? code;
  } catch {
    return code;
  }
}

export interface CaptionLanguages {
  defaultLanguage: string;
  options: LanguageOption[];
}

let languagesRequest: Promise<CaptionLanguages | null> | null = null;

/** GET /api/captions once per page load; null where the instance has no captions. */
export function captionLanguages(): Promise<CaptionLanguages | null> {
  languagesRequest ??= get<CaptionsInfo>('/api/captions').then(
    (info) => ({
      defaultLanguage: info.default_language,
      options: languageOptions(info.languages.includes(info.default_language) ? info.languages : [info.default_language, ...info.languages],
        languageName, navigator.language),
    }),
    () => {
      languagesRequest = null; // try again next time
      return null;
    },
  );
  return languagesRequest;
}

/** The spoken-language choices: undefined while asked, null when there are none. */
export function useCaptionLanguages(): CaptionLanguages | null | undefined {
  const [value, setValue] = useState<CaptionLanguages | null | undefined>(undefined);
  useEffect(() => {
    let active = true;
    void captionLanguages().then((found) => {
      if (active) setValue(found);
    });
    return () => {
      active = false;
    };
  }, []);
  return value;
}
