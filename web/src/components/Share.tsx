import { useRef, useState } from 'preact/hooks';

export function ShareButton({ spaceId }: { spaceId: number }) {
  const link = `${location.origin}/s/${spaceId}`;
  const [status, setStatus] = useState('');
  const [showFallback, setShowFallback] = useState(false);
  const inputRef = useRef<HTMLInputElement>(null);

  const copy = async () => {
    try {
      if (!navigator.clipboard || !window.isSecureContext) throw new Error('no clipboard');
      await navigator.clipboard.writeText(link);
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
      <button type="button" class="secondary" onClick={() => void copy()}>Copy link</button>
      {showFallback && (
        <span class="share-fallback">
          <label for="share-link" class="sr-only">Link to this space</label>
          <input id="share-link" ref={inputRef} type="text" readOnly value={link}
            onFocus={(e) => e.currentTarget.select()} />
        </span>
      )}
      <span role="status" class="hint share-status">{status}</span>
    </div>
  );
}
