// Types of scripts/pwa.mjs for vite.config.ts.
import type { Plugin } from 'vite';

export const MANIFEST_FILE: string;
export const SERVICE_WORKER_FILE: string;
export function pwa(): Plugin;
