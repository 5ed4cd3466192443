import { createContext } from 'preact';
import { useContext } from 'preact/hooks';
import type { Profile } from './types';

export interface AppContextValue {
  /** undefined while GET /api/me is in flight, null when signed out. */
  user: Profile | null | undefined;
  setUser: (user: Profile | null) => void;
  /** Show an error message (or clear it with null) in the page's alert region. */
  showError: (message: string | null) => void;
  /** Say something through the polite live region. */
  announce: (message: string) => void;
}

export const AppContext = createContext<AppContextValue>({
  user: undefined,
  setUser: () => undefined,
  showError: () => undefined,
  announce: () => undefined,
});

export const useApp = () => useContext(AppContext);
