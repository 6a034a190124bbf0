import type { ComponentType } from 'react';
import type { Me } from '../auth/me';
import { AuditPage } from '../pages/Audit';
import { CompliancePage } from '../pages/Compliance';
import { ApprovalsPage } from '../pages/Approvals';
import { CamerasPage } from '../pages/Cameras';
import { ExportsPage } from '../pages/Exports';
import { LivePage } from '../pages/Live';
import { PlaybackPage } from '../pages/Playback';
import { KeysPage } from '../pages/Keys';
import { MyAccountPage } from '../pages/MyAccount';
import { SessionsPage } from '../pages/Sessions';
import { TokensPage } from '../pages/Tokens';
import { UsersPage } from '../pages/Users';
import { ZonesPage } from '../pages/Zones';

/**
 * The navigation, grouped by job. Adding a page is one entry here: its hash path, title, group, who
 * may see it (the same permission its API routes require — the server refuses the rest anyway) and
 * its component. A group with no visible page disappears. Groups not used yet are listed so that later
 * pages (onboarding, conduits, SIEM, vulnerabilities) slot in where an operator expects them.
 */
export const NAV_GROUPS = ['Operate', 'Investigate', 'Configure', 'Security', 'Assurance', 'You'] as const;
export type NavGroup = (typeof NAV_GROUPS)[number];

export interface PageDef {
  path: string;
  title: string;
  group: NavGroup;
  allowed: (me: Me) => boolean;
  component: ComponentType;
}

export const PAGES: PageDef[] = [
  {
    path: '/live',
    title: 'Live',
    group: 'Operate',
    allowed: (me) => me.can('video.live'),
    component: LivePage,
  },
  {
    path: '/playback',
    title: 'Playback',
    group: 'Operate',
    allowed: (me) => me.can('video.playback'),
    component: PlaybackPage,
  },
  {
    path: '/exports',
    title: 'Exports',
    group: 'Investigate',
    allowed: (me) => me.can('video.export'),
    component: ExportsPage,
  },
  {
    path: '/cameras',
    title: 'Cameras',
    group: 'Configure',
    allowed: (me) => me.can('camera.view'),
    component: CamerasPage,
  },
  {
    path: '/zones',
    title: 'Zones',
    group: 'Configure',
    allowed: (me) => me.can('zone.view'),
    component: ZonesPage,
  },
  {
    path: '/users',
    title: 'Users & roles',
    group: 'Security',
    allowed: (me) => me.canEverywhere('users.manage') || me.canEverywhere('roles.manage'),
    component: UsersPage,
  },
  {
    path: '/sessions',
    title: 'Sessions',
    group: 'Security',
    allowed: (me) => me.canEverywhere('sessions.manage'),
    component: SessionsPage,
  },
  {
    path: '/tokens',
    title: 'API tokens',
    group: 'Security',
    allowed: (me) => me.canEverywhere('users.manage'),
    component: TokensPage,
  },
  {
    path: '/approvals',
    title: 'Approvals',
    group: 'Security',
    allowed: (me) => me.canEverywhere('approvals.decide'),
    component: ApprovalsPage,
  },
  {
    path: '/keys',
    title: 'Keys',
    group: 'Security',
    allowed: (me) => me.canEverywhere('keys.view'),
    component: KeysPage,
  },
  {
    path: '/audit',
    title: 'Audit',
    group: 'Assurance',
    allowed: (me) => me.canEverywhere('audit.read'),
    component: AuditPage,
  },
  {
    path: '/compliance',
    title: 'Compliance',
    group: 'Assurance',
    allowed: (me) => me.canEverywhere('compliance.read'),
    component: CompliancePage,
  },
  { path: '/me', title: 'My account', group: 'You', allowed: () => true, component: MyAccountPage },
];

export function visiblePages(me: Me): PageDef[] {
  return PAGES.filter((p) => p.allowed(me));
}
