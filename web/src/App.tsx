import { useCallback, useEffect, useState } from 'react';
import { api } from './api/client';
import { ApiError } from './api/errors';
import type { MyPermissions, SessionInfo, SessionState } from './api/types';
import { makeMe, MeContext, type Me } from './auth/me';
import { SignIn } from './auth/SignIn';
import { Layout } from './nav/Layout';
import { navigate, parseHash } from './nav/router';

/**
 * Remembers (in this browser, not a secret) that a session may exist, so that opening the console
 * signed out does not start with a refused request. The cookie itself is HttpOnly.
 */
const MARKER = 'palisade.maybe-signed-in';

type View =
  | { kind: 'loading' }
  | { kind: 'signed-out'; state?: SessionState; error?: unknown }
  | { kind: 'signed-in'; me: Me };

/** What to show before anything is asked of the server. */
function firstView(): View {
  const { path, query } = parseHash(window.location.hash);
  const oidcError = path === '/sign-in' ? query.get('error') : null;
  if (oidcError) return { kind: 'signed-out', error: new ApiError(oidcError, '', 401) };
  if (path === '/signed-in' || localStorage.getItem(MARKER)) return { kind: 'loading' };
  return { kind: 'signed-out' };
}

export function App() {
  const [view, setView] = useState<View>(firstView);
  const checkSession = view.kind === 'loading';

  const signOut = useCallback(async () => {
    try {
      await api.post('/api/auth/logout');
    } catch {
      // already signed out on the server: nothing left to end
    }
    localStorage.removeItem(MARKER);
    api.csrfToken = undefined;
    navigate('/sign-in', undefined, true);
    setView({ kind: 'signed-out' });
  }, []);

  /** Reads the session; the view to show next (the console itself when fully signed in). */
  const enter = useCallback(async (): Promise<View> => {
    const session = await api.get<SessionInfo>('/api/session');
    if (session.state !== 'active') return { kind: 'signed-out', state: session.state };
    const permissions = await api.get<MyPermissions>('/api/me/permissions');
    localStorage.setItem(MARKER, '1');
    const { path } = parseHash(window.location.hash);
    if (path === '/sign-in' || path === '/signed-in') navigate('/', undefined, true);
    return { kind: 'signed-in', me: makeMe(session, permissions, signOut) };
  }, [signOut]);

  useEffect(() => {
    api.onSignedOut((error) => {
      localStorage.removeItem(MARKER);
      setView({ kind: 'signed-out', error });
    });
    return () => api.onSignedOut(undefined);
  }, []);

  useEffect(() => {
    if (!checkSession) return;
    enter().then(setView, (error: unknown) =>
      setView({
        kind: 'signed-out',
        // A stale marker is not worth an error message; anything else is.
        error: error instanceof ApiError && error.status === 401 ? undefined : error,
      }),
    );
  }, [checkSession, enter]);

  if (view.kind === 'loading')
    return (
      <p className="loading" role="status">
        Loading…
      </p>
    );
  if (view.kind === 'signed-out')
    return (
      <SignIn
        initialState={view.state}
        initialError={view.error}
        onActive={() => {
          enter().then(setView, (error: unknown) => setView({ kind: 'signed-out', error }));
        }}
      />
    );
  return (
    <MeContext.Provider value={view.me}>
      <Layout />
    </MeContext.Provider>
  );
}
