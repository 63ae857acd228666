// The pasted key lives in sessionStorage only: gone when the tab closes, never in a URL, a log
// or localStorage.
const STORAGE_KEY = 'keywarden.dashboard.key';

export function storedKey(): string | null {
  return sessionStorage.getItem(STORAGE_KEY);
}

export function storeKey(secret: string): void {
  sessionStorage.setItem(STORAGE_KEY, secret);
}

export function forgetKey(): void {
  sessionStorage.removeItem(STORAGE_KEY);
}
