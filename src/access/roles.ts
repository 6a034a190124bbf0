import type { Permission } from './permissions.js';

export interface RoleDefinition {
  id: string;
  name: string;
  description: string;
  permissions: readonly Permission[];
  builtIn: boolean;
  /** Whether holders must use a second factor. Only a policy change can relax it (and compliance counts it). */
  mfaRequired: boolean;
}

const builtIn = (
  id: string,
  name: string,
  description: string,
  permissions: Permission[],
): RoleDefinition => ({
  id,
  name,
  description,
  permissions,
  builtIn: true,
  mfaRequired: true,
});

/**
 * Built-in roles, following who uses a VMS: least privilege for each job, separation of duties between
 * the people who run the system, the people who hold keys and the people who check both.
 */
export const BUILTIN_ROLES: readonly RoleDefinition[] = [
  builtIn('viewer', 'Viewer', 'watches live video of cameras in scope', [
    'video.live',
    'camera.view',
    'zone.view',
  ]),
  builtIn('operator', 'Operator', 'control-room operator: live view and playback', [
    'video.live',
    'video.playback',
    'camera.view',
    'zone.view',
  ]),
  builtIn('investigator', 'Investigator', 'searches footage and exports evidence', [
    'video.live',
    'video.playback',
    'video.export',
    'camera.view',
    'zone.view',
  ]),
  builtIn('engineer', 'Engineer', 'OT/security engineer: onboards cameras, zones and recording', [
    'video.live',
    'camera.view',
    'camera.manage',
    'recording.manage',
    'zone.view',
    'zone.manage',
  ]),
  builtIn('security-admin', 'Security administrator', 'holds the keys and decides pending approvals', [
    'keys.view',
    'keys.manage',
    'sessions.manage',
    'approvals.decide',
    'compliance.read',
    'compliance.attest',
    'audit.read',
    'camera.view',
    'zone.view',
  ]),
  builtIn('auditor', 'Auditor', 'read-only: audit log, compliance status and evidence packs', [
    'audit.read',
    'keys.view',
    'compliance.read',
    'camera.view',
    'zone.view',
  ]),
  builtIn(
    'administrator',
    'Administrator',
    'runs the system: accounts, roles, cameras, settings — not the keys',
    [
      'video.live',
      'video.playback',
      'camera.view',
      'camera.manage',
      'recording.manage',
      'recording.delete',
      'zone.view',
      'zone.manage',
      'users.manage',
      'roles.manage',
      'sessions.manage',
      'approvals.decide',
      'compliance.read',
      'keys.view',
      'system.configure',
    ],
  ),
];

export const BUILTIN_ROLE_IDS = BUILTIN_ROLES.map((r) => r.id);
