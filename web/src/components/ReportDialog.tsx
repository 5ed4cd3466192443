// Reporting a user, a space or a moment (what a speaker said): the instance's reasons, an
// optional note (required for "other"), and a clear word of what happens next.
import { useEffect, useRef, useState } from 'preact/hooks';
import { errorMessage, fileReport, reportReasons } from '../api';
import { useApp } from '../context';
import { formatClock } from '../format';
import { splitErrors, type FieldErrors } from '../forms';
import { NOTE_MAX, reasonLabel, reportBody, reportSubject, reportTitle } from '../moderationRules';
import { refreshUnread } from '../notices';
import type { MyReport, ReportTarget } from '../types';
import { Sheet } from './Sheet';

export const REPORT_THANKS = 'Thanks — the moderators will review it. You’ll hear back in your notices.';

export function ReportDialog({ target, onClose }: { target: ReportTarget; onClose: () => void }) {
  const { announce } = useApp();
  const [reasons, setReasons] = useState<string[] | null>(null);
  const [loadError, setLoadError] = useState<string | null>(null);
  const [reason, setReason] = useState('');
  const [note, setNote] = useState('');
  const [errors, setErrors] = useState<FieldErrors>({});
  const [formError, setFormError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const [done, setDone] = useState(false);
  const formRef = useRef<HTMLFormElement>(null);
  const doneRef = useRef<HTMLParagraphElement>(null);

  const load = () => {
    setLoadError(null);
    reportReasons().then(setReasons, (err: unknown) => setLoadError(errorMessage(err)));
  };
  useEffect(load, []);
  useEffect(() => {
    if (done) doneRef.current?.focus();
  }, [done]);

  const focusFirst = (found: FieldErrors) => {
    const first = Object.keys(found)[0];
    if (!first) return;
    requestAnimationFrame(() => {
      const selector = first === 'reason' ? 'input[name="report-reason"]:checked, input[name="report-reason"]' : '#report-note';
      formRef.current?.querySelector<HTMLElement>(selector)?.focus();
    });
  };

  const submit = async (event: Event) => {
    event.preventDefault();
    if (busy) return;
    setFormError(null);
    const checked = reportBody(target, reason, note, reasons ?? []);
    if (!checked.ok) {
      setErrors(checked.errors);
      focusFirst(checked.errors);
      return;
    }
    setErrors({});
    setBusy(true);
    try {
      await fileReport<MyReport>(checked.body);
      setDone(true);
      announce('Report sent');
      void refreshUnread();
    } catch (err) {
      const { fieldErrors, formError: other } = splitErrors(err, ['reason', 'note']);
      setErrors(fieldErrors);
      setFormError(other);
      focusFirst(fieldErrors);
    } finally {
      setBusy(false);
    }
  };

  const title = reportTitle(target);
  const noteRequired = reason === 'other';
  const noteIds = ['report-note-hint', errors.note ? 'report-note-error' : ''].filter(Boolean).join(' ');
  return (
    <Sheet id="report" title={title} onClose={onClose} testId="report-dialog">
      {done ? (
        <div class="report-done">
          <p ref={doneRef} tabIndex={-1} role="status" data-testid="report-thanks">{REPORT_THANKS}</p>
          <p class="hint">The person you reported is not told who reported them.</p>
          <div class="actions">
            <button type="button" onClick={onClose}>Done</button>
            <a href="/notices" class="button secondary" onClick={onClose}>See my notices</a>
          </div>
        </div>
      ) : (
        <form ref={formRef} onSubmit={submit} noValidate class="report-form">
          <p>{reportSubject(target, formatClock)}</p>
          {loadError && (
            <div class="search-problem">
              <p class="field-error">{loadError}</p>
              <button type="button" class="secondary small" onClick={load}>Try again</button>
            </div>
          )}
          {!reasons && !loadError && <p class="loading">Loading reasons…</p>}
          {reasons && (
            <fieldset class={errors.reason ? 'field-invalid' : undefined}
              aria-describedby={errors.reason ? 'report-reason-error' : undefined}>
              <legend>Why are you reporting this?</legend>
              <div class="reason-list">
                {reasons.map((r) => (
                  <div class="radio" key={r}>
                    <input type="radio" id={`report-reason-${r}`} name="report-reason" value={r}
                      checked={reason === r} aria-invalid={errors.reason ? true : undefined}
                      onChange={() => { setReason(r); setErrors({}); }} />
                    <label for={`report-reason-${r}`}>{reasonLabel(r)}</label>
                  </div>
                ))}
              </div>
              {errors.reason && <p class="field-error" id="report-reason-error">{errors.reason}</p>}
            </fieldset>
          )}
          <div class={`field${errors.note ? ' field-invalid' : ''}`}>
            <label for="report-note">
              What happened? {!noteRequired && <span class="optional">(optional)</span>}
              {noteRequired && <span class="optional">(required for “Other”)</span>}
            </label>
            <textarea id="report-note" rows={3} maxLength={NOTE_MAX} value={note}
              aria-describedby={noteIds} aria-invalid={errors.note ? true : undefined}
              aria-required={noteRequired ? true : undefined}
              onInput={(e) => setNote(e.currentTarget.value)} />
            <p class="hint" id="report-note-hint">Only the moderators read this. {note.length}/{NOTE_MAX} characters.</p>
            {errors.note && <p class="field-error" id="report-note-error">{errors.note}</p>}
          </div>
          {formError && <p class="field-error" role="alert" data-testid="report-error">{formError}</p>}
          <div class="actions">
            <button type="submit" disabled={busy || !reasons}>{busy ? 'Sending…' : 'Send report'}</button>
            <button type="button" class="secondary" onClick={onClose}>Cancel</button>
          </div>
        </form>
      )}
    </Sheet>
  );
}
