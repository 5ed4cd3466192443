import { useRef, useState } from 'preact/hooks';
import { ApiError, get, post } from '../api';
import { NewSpaceCaptions } from '../components/Captions';
import { Field } from '../components/Field';
import { useApp } from '../context';
import { focusFirstInvalid, splitErrors, type FieldErrors } from '../forms';
import { usePageTitle } from '../hooks';
import { navigate } from '../router';
import type { HostedSpaces, Space, SpeakerPolicy } from '../types';
import { SignInPrompt } from './NotFound';

const TITLE_MAX = 70;
const POLICIES: { value: SpeakerPolicy; label: string }[] = [
  { value: 'everyone', label: 'Everyone' },
  { value: 'followed', label: 'People you follow' },
  { value: 'invited', label: 'Only people you invite' },
];

function localInputValue(date: Date): string {
  const pad = (n: number) => String(n).padStart(2, '0');
  return `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())}T${pad(date.getHours())}:${pad(date.getMinutes())}`;
}

export function NewSpacePage() {
  const { user, showError, announce } = useApp();
  usePageTitle('Start a space');
  const [title, setTitle] = useState('');
  const [topics, setTopics] = useState(['', '', '']);
  const [policy, setPolicy] = useState<SpeakerPolicy>('everyone');
  const [when, setWhen] = useState('');
  const [record, setRecord] = useState(true);
  const [captions, setCaptions] = useState(false);
  /** null: the instance's default language. */
  const [captionLanguage, setCaptionLanguage] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const [fieldErrors, setFieldErrors] = useState<FieldErrors>({});
  /** Refused: the host already runs as many live spaces as the instance allows (409). */
  const [liveLimit, setLiveLimit] = useState<{ message: string; live: Space[] } | null>(null);
  const formRef = useRef<HTMLFormElement>(null);
  const idFor = (f: string) => (f === 'topics' ? 'space-topic-1' : f === 'speaker_policy' ? 'policy-everyone' : `space-${f.replaceAll('_', '-')}`);

  if (!user) {
    return (
      <section aria-labelledby="new-title">
        <h1 id="new-title">Start a space</h1>
        <SignInPrompt what="to start a space" />
      </section>
    );
  }

  const titleLength = Array.from(title).length;
  const now = new Date();
  const submit = async (event: Event) => {
    event.preventDefault();
    setBusy(true);
    setFieldErrors({});
    setLiveLimit(null);
    showError(null);
    const body: Record<string, unknown> = {
      title: title.trim(),
      topics: topics.map((t) => t.trim()).filter(Boolean),
      speaker_policy: policy,
      record,
    };
    if (captions) {
      body.captions = true;
      body.caption_language = captionLanguage;
    }
    if (when) {
      const date = new Date(when);
      if (Number.isNaN(date.getTime())) {
        setFieldErrors({ scheduled_for: 'Enter a valid date and time.' });
        setBusy(false);
        return;
      }
      body.scheduled_for = date.toISOString();
    }
    try {
      const result = await post<{ space: Space }>('/api/spaces', body);
      announce(result.space.state === 'live' ? 'Your space is live' : 'Your space is scheduled');
      navigate(`/s/${result.space.id}`);
    } catch (err) {
      if (err instanceof ApiError && err.rule === 'live_spaces_per_host') {
        // Say so next to the button, with a way to the live space (docs/api.md).
        let live: Space[] = [];
        try {
          live = (await get<HostedSpaces>(`/api/users/${encodeURIComponent(user.handle)}/spaces`)).live;
        } catch {
          // The message names where it is anyway.
        }
        setLiveLimit({ message: err.message.charAt(0).toUpperCase() + err.message.slice(1), live });
        setBusy(false);
        return;
      }
      const { fieldErrors: errors, formError } = splitErrors(err, ['title', 'topics', 'speaker_policy', 'scheduled_for', 'caption_language']);
      setFieldErrors(errors);
      showError(formError ?? Object.values(errors)[0] ?? null);
      focusFirstInvalid(formRef.current, errors, idFor);
      setBusy(false);
    }
  };

  return (
    <section aria-labelledby="new-title" class="narrow">
      <h1 id="new-title">Start a space</h1>
      <form ref={formRef} onSubmit={submit} noValidate>
        <Field id="space-title" label="Title" error={fieldErrors.title}
          hint={`${titleLength}/${TITLE_MAX} characters`}>
          {(d, invalid) => (
            <input id="space-title" name="title" type="text" required maxLength={TITLE_MAX} value={title}
              onInput={(e) => setTitle(e.currentTarget.value)} aria-describedby={d} aria-invalid={invalid || undefined} />
          )}
        </Field>

        <fieldset aria-describedby={fieldErrors.topics ? 'space-topics-error' : 'space-topics-hint'}>
          <legend>Topics <span class="optional">(optional, up to 3)</span></legend>
          <p class="hint" id="space-topics-hint">Each topic at most 24 characters.</p>
          <div class="topic-inputs">
            {topics.map((topic, i) => (
              <div class="field" key={i}>
                <label for={`space-topic-${i + 1}`}>Topic {i + 1}</label>
                <input id={`space-topic-${i + 1}`} type="text" maxLength={24} value={topic}
                  aria-invalid={fieldErrors.topics ? true : undefined}
                  onInput={(e) => {
                    const value = e.currentTarget.value;
                    setTopics((list) => list.map((t, j) => (j === i ? value : t)));
                  }} />
              </div>
            ))}
          </div>
          {fieldErrors.topics && <p class="field-error" id="space-topics-error">{fieldErrors.topics}</p>}
        </fieldset>

        <fieldset aria-describedby={fieldErrors.speaker_policy ? 'space-policy-error' : undefined}>
          <legend>Who can speak?</legend>
          {POLICIES.map((p) => (
            <div class="radio" key={p.value}>
              <input type="radio" id={`policy-${p.value}`} name="speaker_policy" value={p.value}
                checked={policy === p.value} onChange={() => setPolicy(p.value)} />
              <label for={`policy-${p.value}`}>{p.label}</label>
            </div>
          ))}
          {fieldErrors.speaker_policy && <p class="field-error" id="space-policy-error">{fieldErrors.speaker_policy}</p>}
        </fieldset>

        <Field id="space-scheduled-for" label="Schedule for later (optional)" error={fieldErrors.scheduled_for}
          hint="Leave empty to go live now. At most 30 days ahead.">
          {(d, invalid) => (
            <input id="space-scheduled-for" name="scheduled_for" type="datetime-local" value={when}
              min={localInputValue(now)}
              max={localInputValue(new Date(now.getTime() + 30 * 24 * 3600 * 1000))}
              onInput={(e) => setWhen(e.currentTarget.value)} aria-describedby={d} aria-invalid={invalid || undefined} />
          )}
        </Field>

        <div class="checkbox">
          <input type="checkbox" id="space-record" name="record" checked={record}
            aria-describedby="space-record-hint" onChange={(e) => setRecord(e.currentTarget.checked)} />
          <label for="space-record">Offer a replay afterwards</label>
          <p class="hint" id="space-record-hint">
            The space is recorded and kept for 30 days either way; you can download it. With this
            on, you can publish a replay that anyone can listen to and clip; with it off, nobody can
            clip the space.
          </p>
        </div>

        <NewSpaceCaptions captions={captions} language={captionLanguage}
          onCaptions={setCaptions} onLanguage={setCaptionLanguage} />

        {liveLimit && (
          <div class="alert" role="alert" data-testid="live-limit">
            <p>{liveLimit.message}. You can still schedule this space for later.</p>
            {liveLimit.live.map((space) => (
              <p key={space.id}><a href={`/s/${space.id}`}>Go to your live space: {space.title}</a></p>
            ))}
          </div>
        )}

        <div class="actions">
          <button type="submit" disabled={busy}>{when ? 'Schedule space' : 'Start now'}</button>
          <a class="button secondary" href="/">Cancel</a>
        </div>
      </form>
    </section>
  );
}
