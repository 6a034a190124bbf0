/**
 * The permission catalogue. A permission names one kind of action; roles bundle permissions; grants
 * give a role to a user within a scope. Names are stable: stored grants, OpenAPI `x-permission`
 * annotations and auditors' reports refer to them.
 */
export const PERMISSIONS = {
  'video.live': 'watch live video of cameras in scope',
  'video.playback': 'play back recorded video of cameras in scope',
  'video.export': 'download recorded video and produce evidence exports of cameras in scope',
  'camera.view': 'see cameras in scope, their health and configuration (never their credentials)',
  'camera.manage': 'add, change and remove cameras in scope',
  'recording.manage': 'start and stop recording and change retention for cameras in scope',
  'recording.delete': 'delete recorded video of cameras in scope',
  'zone.view': 'see sites and zones in scope',
  'zone.manage': 'create and change sites and zones, including target security levels',
  'keys.view':
    'see the key provider, key-encryption key versions and ages, re-wrap progress and stored secrets (never key material or secret values)',
  'keys.manage':
    'manage key-encryption keys and secrets: rotate, ask to destroy (dual approval), store and delete secrets',
  'audit.read': 'read the audit log, its checkpoints and proofs, and export it',
  'users.manage':
    'create, change, disable and unlock accounts; reset passwords; manage service accounts and tokens',
  'roles.manage': 'create and change roles and grant them to users',
  'sessions.manage': "see and terminate other users' sessions",
  'approvals.decide': 'approve or reject actions waiting for a second person (dual approval)',
  'compliance.read': 'see the compliance status and produce evidence packs',
  'compliance.attest': 'record attestations and compensating countermeasures',
  'system.configure': 'change system-wide settings',
} as const;

export type Permission = keyof typeof PERMISSIONS;

export const ALL_PERMISSIONS = Object.keys(PERMISSIONS) as Permission[];

export function isPermission(value: string): value is Permission {
  return Object.hasOwn(PERMISSIONS, value);
}

/** Permissions whose grant changes who can do what with keys; granting them to oneself needs a second administrator. */
export const PRIVILEGED_PERMISSIONS: ReadonlySet<Permission> = new Set([
  'keys.manage',
  'roles.manage',
  'users.manage',
]);

/**
 * Permissions that only make sense system-wide: they are granted with the `all` scope only, because
 * they act on things (accounts, roles, keys, the audit log) that do not belong to one zone.
 */
export const GLOBAL_PERMISSIONS: ReadonlySet<Permission> = new Set([
  'keys.view',
  'keys.manage',
  'audit.read',
  'users.manage',
  'roles.manage',
  'sessions.manage',
  'approvals.decide',
  'compliance.attest',
  'system.configure',
]);
