import { createContext, useContext } from 'react';
import type { MyPermissions, SessionInfo } from '../api/types';

/** The signed-in person as the console sees them: their session and effective permissions. */
export interface Me {
  session: SessionInfo;
  permissions: MyPermissions;
  /** Holds the permission on any scope. The server still decides every request. */
  can(permission: string): boolean;
  /** Holds it on `all` (needed for system-wide actions). */
  canEverywhere(permission: string): boolean;
  signOut(): Promise<void>;
}

export function makeMe(session: SessionInfo, permissions: MyPermissions, signOut: () => Promise<void>): Me {
  return {
    session,
    permissions,
    can: (p) => (permissions.permissions[p]?.length ?? 0) > 0,
    canEverywhere: (p) => permissions.permissions[p]?.includes('all') ?? false,
    signOut,
  };
}

export const MeContext = createContext<Me | null>(null);

export function useMe(): Me {
  const me = useContext(MeContext);
  if (!me) throw new Error('useMe outside a signed-in console');
  return me;
}
