import { useState } from 'preact/hooks';
import { ApiError, errorMessage } from './api';

export type FieldErrors = Record<string, string>;

/**
 * Split an API error into messages for known fields and one for the form.
 * `field` names like "topics.1" or "topics[1]" map to their root ("topics").
 */
export function splitErrors(error: unknown, fields: string[]): { fieldErrors: FieldErrors; formError: string | null } {
  const fieldErrors: FieldErrors = {};
  let formError: string | null = null;
  const root = (field: string | null | undefined) => (field ? field.split(/[.[]/)[0] : null);
  if (error instanceof ApiError) {
    const list = error.errors.length ? error.errors : [{ field: error.field, message: error.message }];
    for (const item of list) {
      const name = root(item.field);
      if (name && fields.includes(name)) {
        // Messages read "title: must be ..."; next to the Title field the prefix is noise.
        const prefix = `${item.field}: `;
        const text = item.message.startsWith(prefix) ? item.message.slice(prefix.length) : item.message;
        if (!fieldErrors[name]) fieldErrors[name] = text.charAt(0).toUpperCase() + text.slice(1);
      } else if (!formError) {
        formError = item.message;
      }
    }
    if (!Object.keys(fieldErrors).length && !formError) formError = error.message;
  } else {
    formError = errorMessage(error);
  }
  return { fieldErrors, formError };
}

export function useFormErrors() {
  const [fieldErrors, setFieldErrors] = useState<FieldErrors>({});
  return { fieldErrors, setFieldErrors };
}

/** Move focus to the first invalid control so keyboard and screen reader users land on it. */
export function focusFirstInvalid(form: HTMLFormElement | null, fieldErrors: FieldErrors, idFor: (field: string) => string): void {
  const first = Object.keys(fieldErrors)[0];
  if (!form || !first) return;
  requestAnimationFrame(() => {
    const el = form.querySelector<HTMLElement>(`#${idFor(first)}`);
    el?.focus();
  });
}
