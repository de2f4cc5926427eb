// Start-up: finish a login on the callback URL, or send the person to the
// AS to log in, or open the device's copy when the network is gone.
import { completeLogin, discover, hasPendingLogin, redirectUri, startLogin, CALLBACK_PATH } from '../auth/oauth';
import { Session } from '../auth/session';
import { describeError } from '../api/errors';
import { offlineServices, onlineServices, openCache, type Services } from './services';

export type BootState =
  | { kind: 'loading'; message: string }
  | { kind: 'signedOut'; reason?: string }
  | { kind: 'ready'; services: Services }
  | { kind: 'error'; message: string; offlineAvailable: boolean };

const SIGNED_OUT_KEY = 'fz.signedOut';

/** The mailbox base URL: the page's origin and the app's base path. */
export function mailboxBase(): URL {
  return new URL(import.meta.env.BASE_URL, window.location.origin);
}

function insecureAllowed(): boolean {
  const { protocol, hostname } = window.location;
  return protocol === 'http:' && (hostname === 'localhost' || hostname === '127.0.0.1' || hostname === '[::1]');
}

export async function signIn(): Promise<void> {
  const base = mailboxBase();
  sessionStorage.removeItem(SIGNED_OUT_KEY);
  const as = await discover(base, { insecure: insecureAllowed() });
  const url = await startLogin(as, redirectUri(base), sessionStorage);
  window.location.assign(url.toString());
}

export async function boot(set: (s: BootState) => void): Promise<void> {
  const base = mailboxBase();
  const http = { insecure: insecureAllowed() };
  const cache = openCache();
  const onCallback = window.location.pathname === new URL(CALLBACK_PATH, base).pathname;

  const openOffline = async (message: string): Promise<void> => {
    const services = await offlineServices(cache);
    if (services) set({ kind: 'ready', services });
    else set({ kind: 'error', message, offlineAvailable: false });
  };

  if (!onCallback && !navigator.onLine) {
    await openOffline('You are offline, and no mail is saved on this device yet.');
    return;
  }

  let as;
  try {
    set({ kind: 'loading', message: 'Connecting to your mailbox…' });
    as = await discover(base, http);
  } catch (e) {
    await openOffline(`The mailbox cannot be reached (${describeError(e)}).`);
    return;
  }

  if (onCallback) {
    if (!hasPendingLogin(sessionStorage)) {
      window.history.replaceState(null, '', base.pathname);
      set({ kind: 'signedOut' });
      return;
    }
    try {
      set({ kind: 'loading', message: 'Signing in…' });
      const tokens = await completeLogin(as, new URL(window.location.href), sessionStorage, http);
      // The code and state leave the address bar and the history.
      window.history.replaceState(null, '', base.pathname);
      const current: { services?: Services } = {};
      const session = new Session(as, tokens, {
        ...http,
        onExpired: (reason) => {
          current.services?.stop();
          set({ kind: 'signedOut', reason });
        },
      });
      const services = await onlineServices({
        account: { address: session.email },
        api: { baseUrl: base.toString(), tokens: session },
        cache,
        onAuthLost: () => set({ kind: 'signedOut', reason: 'Your session has ended. Please sign in again.' }),
        logout: async () => {
          await session.logout();
          markSignedOut();
        },
      });
      current.services = services;
      set({ kind: 'ready', services });
    } catch (e) {
      window.history.replaceState(null, '', base.pathname);
      set({ kind: 'signedOut', reason: `Sign-in failed: ${describeError(e)}` });
    }
    return;
  }

  if (sessionStorage.getItem(SIGNED_OUT_KEY)) {
    set({ kind: 'signedOut' });
    return;
  }
  // Tokens live in memory only, so each new page load signs in again; the
  // AS's own session makes this a quick round trip.
  set({ kind: 'loading', message: 'Signing in…' });
  const url = await startLogin(as, redirectUri(base), sessionStorage);
  window.location.assign(url.toString());
}

export function markSignedOut(): void {
  sessionStorage.setItem(SIGNED_OUT_KEY, '1');
}
