import { useRef, useState } from 'preact/hooks';
import { api, post } from '../api';
import { useApp } from '../context';
import { splitErrors, type FieldErrors } from '../forms';
import type { Pin } from '../types';
import { Field } from './Field';

export const MAX_PINS = 5;

function PinForm({ spaceId }: { spaceId: number }) {
  const { showError, announce } = useApp();
  const [text, setText] = useState('');
  const [url, setUrl] = useState('');
  const [errors, setErrors] = useState<FieldErrors>({});
  const textRef = useRef<HTMLInputElement>(null);

  const submit = async (event: Event) => {
    event.preventDefault();
    setErrors({});
    showError(null);
    try {
      const body: Record<string, string> = { text: text.trim() };
      if (url.trim()) body.url = url.trim();
      await post(`/api/spaces/${spaceId}/pins`, body);
      setText('');
      setUrl('');
      announce('Pinned');
      textRef.current?.focus();
    } catch (err) {
      const { fieldErrors, formError } = splitErrors(err, ['text', 'url']);
      setErrors(fieldErrors);
      showError(formError ?? Object.values(fieldErrors)[0] ?? null);
    }
  };

  return (
    <form class="pin-form" onSubmit={submit} noValidate>
      <Field id="pin-text" label="Text to pin" error={errors.text} hint="A post or a link title, at most 280 characters">
        {(d, invalid) => (
          <input id="pin-text" ref={textRef} type="text" maxLength={280} required value={text}
            onInput={(e) => setText(e.currentTarget.value)} aria-describedby={d} aria-invalid={invalid || undefined} />
        )}
      </Field>
      <Field id="pin-url" label="Link (optional)" error={errors.url}>
        {(d, invalid) => (
          <input id="pin-url" type="url" inputMode="url" placeholder="https://" value={url}
            onInput={(e) => setUrl(e.currentTarget.value)} aria-describedby={d} aria-invalid={invalid || undefined} />
        )}
      </Field>
      <div class="actions"><button type="submit">Pin</button></div>
    </form>
  );
}

export function Pins({ spaceId, pins, canPin, live }: { spaceId: number; pins: Pin[]; canPin: boolean; live: boolean }) {
  const { showError, announce } = useApp();
  // The form stays folded until asked for: the room is for the stage, not a form.
  const [formOpen, setFormOpen] = useState(false);
  if (!pins.length && !canPin) return null;

  const unpin = async (pin: Pin) => {
    showError(null);
    try {
      await api('DELETE', `/api/spaces/${spaceId}/pins/${pin.id}`);
      announce('Unpinned');
    } catch (err) {
      showError(err instanceof Error ? err.message : 'Could not unpin.');
    }
  };

  return (
    <section aria-labelledby="pins-title" class="panel" data-testid="pins">
      <h2 id="pins-title">Pinned</h2>
      {pins.length === 0 && <p class="hint">Nothing pinned yet. Pin a post or a link for everyone to see.</p>}
      {pins.length > 0 && (
        <ul class="pins">
          {pins.map((pin) => (
            <li key={pin.id} class="pin" data-testid="pin">
              <span class="pin-icon" aria-hidden="true">📌</span>
              <span class="pin-body">
                {pin.url
                  ? <a href={pin.url} target="_blank" rel="noopener noreferrer nofollow ugc">{pin.text}<span class="sr-only"> (opens in a new tab)</span></a>
                  : pin.text}
              </span>
              {canPin && live && (
                <button type="button" class="secondary small" onClick={() => void unpin(pin)}>
                  Unpin<span class="sr-only"> “{pin.text}”</span>
                </button>
              )}
            </li>
          ))}
        </ul>
      )}
      {canPin && live && (pins.length < MAX_PINS
        ? (
          <>
            <button type="button" class="secondary small" aria-expanded={formOpen} aria-controls="pin-form"
              onClick={() => setFormOpen(!formOpen)}>
              {formOpen ? 'Close pin form' : 'Pin a post or link'}
            </button>
            <div id="pin-form" hidden={!formOpen}>{formOpen && <PinForm spaceId={spaceId} />}</div>
          </>
        )
        : <p class="hint">{MAX_PINS} items are pinned, the most a space can hold. Unpin one to pin another.</p>)}
    </section>
  );
}
