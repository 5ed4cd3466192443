// Types of scripts/swagger-ui.mjs for vite.config.ts.
import type { Plugin } from 'vite';

export const SWAGGER_UI_DIR: string;
export const SWAGGER_UI_FILES: string[];
export function swaggerUi(): Plugin;
