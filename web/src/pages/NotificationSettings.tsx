// /settings/notifications: how each kind of notification reaches me (in the app, push, email),
// quiet hours in my time zone, my email address, who may message me, and push on this device.
import { useEffect, useRef, useState } from 'preact/hooks';
import { api, errorMessage, get } from '../api';
import { Field } from '../components/Field';
import { useApp } from '../context';
import { focusFirstInvalid, splitErrors, type FieldErrors } from '../forms';
import { usePageTitle } from '../hooks';
import {
  CHANNELS, CHANNEL_LABELS, DM_POLICY_LABELS, KINDS, KIND_LABELS, channelTable, emailStatus, emailUnavailable, quietProblem,
  withChannel, type ChannelTable,
} from '../notifyRules';
import { disablePush, enablePush, pushState, type PushState } from '../push';
import type { DmPolicy, NotificationSettings } from '../types';
import { SignInPrompt } from './NotFound';

function browserTimeZone(): string {
  try {
    return Intl.DateTimeFormat().resolvedOptions().timeZone || 'UTC';
  } catch {
    return 'UTC';
  }
}

const PUSH_WORDS: Record<PushState, string> = {
  unsupported: 'This browser cannot get push notifications from Parley (it needs a service worker and the Push API, over HTTPS).',
  denied: 'Notifications are blocked for this site. Allow them in the browser’s site settings, then try again.',
  off: 'Push is off on this device.',
  on: 'Push is on for this device.',
};

// What to do when the browser's push service refuses: a private window or a browser without a
// push service (some de-Googled or headless ones) cannot; the bell still works.
const PUSH_REFUSED = 'Private windows and some browsers cannot get push; the bell in Parley still shows everything.';

/** Push on this device: asked for only once the button is pressed. */
function PushPanel({ count, onChange }: { count: number; onChange: () => void }) {
  const [state, setState] = useState<PushState | null>(null);
  const [busy, setBusy] = useState(false);
  const [problem, setProblem] = useState<string | null>(null);
  useEffect(() => {
    pushState().then(setState, () => setState('unsupported'));
  }, []);
  const run = async (what: () => Promise<PushState>) => {
    setBusy(true);
    setProblem(null);
    try {
      setState(await what());
      onChange();
    } catch (err) {
      // The browser's push service refused (a headless or de-Googled browser has none).
      setProblem(err instanceof DOMException
        ? `This browser could not set up push: ${(err.message || err.name).replace(/\.$/, '')}.`
        : errorMessage(err));
    } finally {
      setBusy(false);
    }
  };
  return (
    <section aria-labelledby="push-title" class="card" data-testid="push-panel" data-push-state={state ?? 'loading'}>
      <h2 id="push-title">Push on this device</h2>
      <p class="hint">
        Push shows a notification on this phone or computer even when Parley is closed.
        {count > 0 && ` Push is on for ${count === 1 ? '1 device' : `${count} devices`} of yours.`}
      </p>
      {state && <p role="status" data-testid="push-status">{PUSH_WORDS[state]}</p>}
      {(state === 'off' || state === 'denied') && (
        <button type="button" disabled={busy} onClick={() => void run(enablePush)} data-testid="push-enable">
          Turn on push on this device
        </button>
      )}
      {state === 'on' && (
        <button type="button" class="secondary" disabled={busy} onClick={() => void run(disablePush)}>
          Turn off push on this device
        </button>
      )}
      {problem && <p class="field-error" role="alert" data-testid="push-problem">{problem}</p>}
      {problem?.startsWith('This browser could not set up push') && <p class="hint">{PUSH_REFUSED}</p>}
    </section>
  );
}

function SettingsForm({ settings, onSaved }: { settings: NotificationSettings; onSaved: (s: NotificationSettings) => void }) {
  const { showError, announce } = useApp();
  const zone = browserTimeZone();
  const [table, setTable] = useState<ChannelTable>(() => channelTable(settings.channels));
  const [quietStart, setQuietStart] = useState(settings.quiet_start ?? '');
  const [quietEnd, setQuietEnd] = useState(settings.quiet_end ?? '');
  const [email, setEmail] = useState(settings.email ?? '');
  const [dmPolicy, setDmPolicy] = useState<DmPolicy>(settings.dm_policy);
  const [busy, setBusy] = useState(false);
  const [saved, setSaved] = useState('');
  const [fieldErrors, setFieldErrors] = useState<FieldErrors>({});
  const formRef = useRef<HTMLFormElement>(null);
  const quietError = fieldErrors.quiet_start ?? fieldErrors.time_zone;
  const emailProblem = emailUnavailable({ email_available: settings.email_available, email: email.trim() || null });
  const idFor = (field: string) => ({
    channels: 'channels-table', quiet_start: 'quiet-start', quiet_end: 'quiet-end', time_zone: 'quiet-start',
    email: 'notify-email', dm_policy: 'dm-everyone',
  } as Record<string, string>)[field] ?? 'channels-table';

  const submit = async (event: Event) => {
    event.preventDefault();
    setSaved('');
    showError(null);
    const quiet = quietProblem(quietStart, quietEnd);
    if (quiet) {
      const errors = { quiet_start: quiet };
      setFieldErrors(errors);
      focusFirstInvalid(formRef.current, errors, idFor);
      return;
    }
    setFieldErrors({});
    setBusy(true);
    const body: Record<string, unknown> = {
      channels: table,
      quiet_start: quietStart || null,
      quiet_end: quietEnd || null,
      time_zone: zone,
      dm_policy: dmPolicy,
    };
    // Email channels wait for an address; an address unchanged is not sent again.
    if (email.trim() !== (settings.email ?? '')) body.email = email.trim();
    try {
      const answer = await api<{ settings: NotificationSettings }>('PATCH', '/api/notifications/settings', body);
      onSaved(answer.settings);
      setSaved('Settings saved.');
      announce('Notification settings saved');
    } catch (err) {
      const { fieldErrors: errors, formError } = splitErrors(err, ['channels', 'quiet_start', 'quiet_end', 'time_zone', 'email', 'dm_policy']);
      setFieldErrors(errors);
      showError(formError ?? Object.values(errors)[0] ?? null);
      focusFirstInvalid(formRef.current, errors, idFor);
    } finally {
      setBusy(false);
    }
  };

  return (
    <form ref={formRef} onSubmit={submit} noValidate class="notify-settings">
      <section aria-labelledby="channels-title" class="card">
        <h2 id="channels-title">How you hear of each thing</h2>
        {fieldErrors.channels && <p class="field-error">{fieldErrors.channels}</p>}
        <div class="table-scroll channel-scroll">
          <table class="channel-table" id="channels-table" data-testid="channel-table" aria-describedby={emailProblem ? 'email-column-hint' : undefined}>
            <thead>
              <tr>
                <th scope="col">About</th>
                {CHANNELS.map((c) => <th key={c} scope="col" class="channel-col">{CHANNEL_LABELS[c]}</th>)}
              </tr>
            </thead>
            <tbody>
              {KINDS.map((kind) => (
                <tr key={kind} data-kind={kind}>
                  <th scope="row">
                    <span class="kind-name">{KIND_LABELS[kind].name}</span>
                    <span class="hint kind-hint">{KIND_LABELS[kind].hint}</span>
                  </th>
                  {CHANNELS.map((channel) => {
                    const off = channel === 'email' && emailProblem !== null;
                    return (
                      <td key={channel} class="channel-col">
                        <input type="checkbox" id={`ch-${kind}-${channel}`} checked={!off && table[kind].includes(channel)}
                          disabled={off} aria-describedby={off ? 'email-column-hint' : undefined}
                          aria-label={`${KIND_LABELS[kind].name}: ${CHANNEL_LABELS[channel]}`}
                          data-channel={channel}
                          onChange={(e) => setTable(withChannel(table, kind, channel, e.currentTarget.checked))} />
                      </td>
                    );
                  })}
                </tr>
              ))}
            </tbody>
          </table>
        </div>
        {emailProblem && <p class="hint" id="email-column-hint" data-testid="email-column-hint">Email: {emailProblem}</p>}
      </section>

      <section aria-labelledby="quiet-title" class="card">
        <h2 id="quiet-title">Quiet hours</h2>
        <p class="hint" id="quiet-hint">
          Between these times nothing is pushed, and email waits until they end; the app still shows everything.
          Times are in your time zone, <strong data-testid="time-zone">{zone}</strong>.
        </p>
        <div class="quiet-row">
          {/* The start's problem (often about both times) goes under the row: inside the From
              field it widened it and pushed Until out of line. */}
          <Field id="quiet-start" label="From">
            {(d) => (
              <input id="quiet-start" type="time" value={quietStart}
                aria-describedby={[d, 'quiet-hint', quietError ? 'quiet-start-error' : null].filter(Boolean).join(' ')}
                aria-invalid={quietError ? true : undefined} onInput={(e) => setQuietStart(e.currentTarget.value)} />
            )}
          </Field>
          <Field id="quiet-end" label="Until" error={fieldErrors.quiet_end}>
            {(d, invalid) => (
              <input id="quiet-end" type="time" value={quietEnd} aria-describedby={d}
                aria-invalid={invalid || undefined} onInput={(e) => setQuietEnd(e.currentTarget.value)} />
            )}
          </Field>
          {(quietStart || quietEnd) && (
            <button type="button" class="secondary small" onClick={() => { setQuietStart(''); setQuietEnd(''); }}>
              No quiet hours
            </button>
          )}
        </div>
        {quietError && <p class="field-error" id="quiet-start-error">{quietError}</p>}
      </section>

      <section aria-labelledby="email-title" class="card">
        <h2 id="email-title">Email</h2>
        <Field id="notify-email" label="Email address" error={fieldErrors.email}
          hint={settings.email_available
            ? 'Only for the notifications you tick under Email. Leave it empty to get no email.'
            : 'This server does not send email; an address is kept for when it does.'}>
          {(d, invalid) => (
            <input id="notify-email" type="email" autoComplete="email" maxLength={254} value={email}
              aria-describedby={d} aria-invalid={invalid || undefined} onInput={(e) => setEmail(e.currentTarget.value)} />
          )}
        </Field>
        {email.trim() === (settings.email ?? '') && emailStatus(settings) && (
          <p class="hint" data-testid="email-status" role="status">{emailStatus(settings)}</p>
        )}
      </section>

      <section aria-labelledby="dm-title" class="card">
        <fieldset class={fieldErrors.dm_policy ? 'field-invalid' : ''}>
          <legend id="dm-title">Who may message you</legend>
          {(Object.keys(DM_POLICY_LABELS) as DmPolicy[]).map((policy) => (
            <div class="radio" key={policy}>
              <input type="radio" name="dm_policy" id={`dm-${policy}`} value={policy} checked={dmPolicy === policy}
                onChange={() => setDmPolicy(policy)} />
              <label for={`dm-${policy}`}>{DM_POLICY_LABELS[policy]}</label>
            </div>
          ))}
          <p class="hint">People you block can never message you.</p>
          {fieldErrors.dm_policy && <p class="field-error">{fieldErrors.dm_policy}</p>}
        </fieldset>
      </section>

      <div class="actions save-bar">
        <button type="submit" disabled={busy} data-testid="save-notification-settings">{busy ? 'Saving…' : 'Save settings'}</button>
        <span role="status" class="hint">{saved}</span>
      </div>
    </form>
  );
}

export function NotificationSettingsPage() {
  const { user } = useApp();
  usePageTitle('Notification settings');
  const [settings, setSettings] = useState<NotificationSettings | null>(null);
  const [problem, setProblem] = useState<string | null>(null);
  const [attempt, setAttempt] = useState(0);
  useEffect(() => {
    if (!user) return undefined;
    let current = true;
    setProblem(null);
    get<{ settings: NotificationSettings }>('/api/notifications/settings').then(
      (body) => { if (current) setSettings(body.settings); },
      (err: unknown) => { if (current) setProblem(errorMessage(err)); },
    );
    return () => { current = false; };
  }, [user, attempt]);

  if (user === null) {
    return (
      <section aria-labelledby="settings-title">
        <h1 id="settings-title">Notification settings</h1>
        <SignInPrompt what="to choose your notifications" />
      </section>
    );
  }
  return (
    <div class="settings-page">
      <p class="back-link"><a href="/notifications">← All notifications</a></p>
      <h1 id="settings-title">Notification settings</h1>
      {problem && (
        <div>
          <p class="field-error">{problem}</p>
          <button type="button" class="secondary small" onClick={() => setAttempt((n) => n + 1)}>Try again</button>
        </div>
      )}
      {!settings && !problem && <p class="loading">Loading…</p>}
      {settings && (
        <>
          <PushPanel count={settings.push_subscriptions} onChange={() => setAttempt((n) => n + 1)} />
          <SettingsForm settings={settings} onSaved={setSettings} />
        </>
      )}
    </div>
  );
}
