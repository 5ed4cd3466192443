import { useEffect, useRef, useState } from 'preact/hooks';

/** A button that asks before it acts: the question replaces it until answered. */
export function ConfirmButton({ label, question, confirmLabel, keepLabel, onConfirm, tone = 'danger' }: {
  label: string; question: string; confirmLabel: string; keepLabel: string; onConfirm: () => void; tone?: string;
}) {
  const [asking, setAsking] = useState(false);
  const confirmRef = useRef<HTMLButtonElement>(null);
  const openRef = useRef<HTMLButtonElement>(null);
  useEffect(() => {
    if (asking) confirmRef.current?.focus();
  }, [asking]);
  if (!asking) {
    return <button type="button" ref={openRef} class={tone} onClick={() => setAsking(true)}>{label}</button>;
  }
  return (
    <div class="confirm" role="group" aria-label={question}>
      <p>{question}</p>
      <div class="actions">
        <button type="button" ref={confirmRef} class={tone} onClick={() => { setAsking(false); onConfirm(); }}>{confirmLabel}</button>
        <button type="button" class="secondary" onClick={() => setAsking(false)}>{keepLabel}</button>
      </div>
    </div>
  );
}
