import type { ComponentChildren } from 'preact';
import { useEffect, useLayoutEffect, useRef } from 'preact/hooks';

/**
 * A bottom sheet on phones, a centred card on wide screens: a native modal <dialog>, so focus
 * stays inside, Escape closes it and focus goes back where it was.
 */
export function Sheet({ id, title, onClose, children, testId }: {
  id: string; title: string; onClose: () => void; children: ComponentChildren; testId?: string;
}) {
  const ref = useRef<HTMLDialogElement>(null);
  const closeRef = useRef(onClose);
  closeRef.current = onClose;
  useEffect(() => {
    const dialog = ref.current;
    if (dialog && !dialog.open) dialog.showModal();
    return () => {
      if (dialog?.open) dialog.close();
    };
  }, []);
  // A control that had focus went away (a request approved): keep focus in the sheet.
  useLayoutEffect(() => {
    const dialog = ref.current;
    if (!dialog?.open || dialog.contains(document.activeElement)) return;
    dialog.querySelector<HTMLElement>('h2')?.focus();
  });
  return (
    <dialog ref={ref} class="sheet" aria-labelledby={`${id}-title`} data-testid={testId}
      onClose={() => closeRef.current()}
      onClick={(event) => {
        // A tap on the backdrop (the dialog itself, outside its card) closes it.
        if (event.target === ref.current) ref.current?.close();
      }}>
      <div class="sheet-card">
        <div class="sheet-head">
          <h2 id={`${id}-title`} tabIndex={-1}>{title}</h2>
          <button type="button" class="secondary small" onClick={() => ref.current?.close()}>
            Close<span class="sr-only"> {title}</span>
          </button>
        </div>
        {children}
      </div>
    </dialog>
  );
}
