import { useRef, useState } from 'preact/hooks';

/**
 * Copy an address to the clipboard; where the clipboard is not available, show it selected
 * in a field to copy by hand.
 */
export function CopyLinkButton({ url, label, inputId, inputLabel }: {
  url: string; label: string; inputId: string; inputLabel: string;
}) {
  const [status, setStatus] = useState('');
  const [showFallback, setShowFallback] = useState(false);
  const inputRef = useRef<HTMLInputElement>(null);

  const copy = async () => {
    try {
      if (!navigator.clipboard || !window.isSecureContext) throw new Error('no clipboard');
      await navigator.clipboard.writeText(url);
      setShowFallback(false);
      setStatus('Link copied to the clipboard.');
    } catch {
      setShowFallback(true);
      setStatus('Copy the selected link with Ctrl+C (⌘C on a Mac).');
      requestAnimationFrame(() => {
        inputRef.current?.focus();
        inputRef.current?.select();
      });
    }
  };

  return (
    <div class="share">
      <button type="button" class="secondary" onClick={() => void copy()}>{label}</button>
      {showFallback && (
        <span class="share-fallback">
          <label for={inputId} class="sr-only">{inputLabel}</label>
          <input id={inputId} ref={inputRef} type="text" readOnly value={url}
            onFocus={(e) => e.currentTarget.select()} />
        </span>
      )}
      <span role="status" class="hint share-status">{status}</span>
    </div>
  );
}

export function ShareButton({ spaceId }: { spaceId: number }) {
  return (
    <CopyLinkButton url={`${location.origin}/s/${spaceId}`} label="Copy link"
      inputId="share-link" inputLabel="Link to this space" />
  );
}
