/**
 * The action catalogue: every audit event names one of these stable dotted names. Names are never
 * renamed or reused once released (auditors' queries and SIEM rules depend on them); a module adds the
 * actions it emits here when it lands. The text says when the event is written.
 */
export const AUDIT_ACTIONS = {
  // system
  'system.started': 'the server started (configuration summary in details)',
  'system.stopped': 'the server stopped cleanly',
  'config.changed': 'a setting was changed through the API or CLI',

  // authentication (identity/)
  'auth.login.succeeded': 'a user signed in (all required factors passed)',
  'auth.login.failed': 'a sign-in attempt failed (wrong password, unknown account, wrong factor)',
  'auth.login.locked': 'an account or source address was locked out after repeated failures',
  'auth.login.rejected': 'a sign-in was refused by policy (e.g. the IdP reported no MFA)',
  'auth.logout': 'a user signed out',
  'auth.password.changed': 'a password was changed by its owner',
  'auth.password.reset': 'an administrator reset a password',
  'auth.mfa.enrolled': 'a second factor (TOTP or WebAuthn) was enrolled',
  'auth.mfa.removed': 'a second factor was removed',
  'auth.mfa.failed': 'a second-factor check failed (including a replayed TOTP code)',
  'auth.recovery-code.used': 'a one-time recovery code was spent',
  'session.created': 'a session was created',
  'session.terminated': 'a session was ended by its owner or an administrator',
  'session.expired': 'a session reached its idle timeout or absolute lifetime',
  'token.created': 'an API token was issued to a service account',
  'token.revoked': 'an API token was revoked',

  // accounts and authorization (identity/, access/)
  'user.created': 'an account was created',
  'user.updated': 'an account was changed',
  'user.disabled': 'an account was disabled',
  'user.enabled': 'an account was re-enabled',
  'user.deleted': 'an account was deleted',
  'role.created': 'a custom role was created',
  'role.updated': 'a role was changed',
  'role.deleted': 'a custom role was deleted',
  'grant.added': 'a role was granted to a user or group with a scope',
  'grant.removed': 'a grant was removed',
  'access.denied': 'an authorization decision refused an action',
  'approval.requested': 'an action under dual approval was requested',
  'approval.approved': 'a second authorised user approved a pending action',
  'approval.rejected': 'a pending action was rejected',
  'approval.expired': 'a pending action expired without approval',
  'site.created': 'a site was created',
  'site.updated': 'a site was changed',
  'site.deleted': 'a site was deleted',
  'zone.created': 'a zone was created',
  'zone.updated': 'a zone was changed (including its target security level)',
  'zone.deleted': 'a zone was deleted',

  // the audit log itself (audit/)
  'audit.checkpoint.signed': 'a checkpoint of the audit log was signed',
  'audit.queried': 'audit events were read',
  'audit.exported': 'the audit log was exported',
  'audit.verified': 'the stored audit log was verified on request (the result in outcome and details)',
  'audit.proof.served': 'an inclusion or consistency proof was served',

  // keys (keys/)
  'keys.kek.created': 'a key-encryption key (or a new version of one) was created',
  'keys.kek.rotated': 'a key-encryption key was rotated',
  'keys.kek.destroyed': 'a key-encryption key was destroyed (crypto-shredding a zone)',
  'keys.dek.destroyed': 'a data key was destroyed (crypto-shredding an object)',
  'keys.dek.disclosed': 'data keys were disclosed into an evidence package (the objects and why in details)',
  'keys.rewrap.started': 'a background re-wrap of data keys started',
  'keys.rewrap.completed': 'a background re-wrap of data keys completed',
  'secret.created': 'a secret was sealed and stored',
  'secret.deleted': 'a secret was deleted',

  // cameras and recording (devices/, recording/)
  'camera.created': 'a camera was added to the inventory',
  'camera.updated': 'a camera record was changed',
  'camera.deleted': 'a camera was removed from the inventory',
  'camera.onboard.accepted': 'a camera passed the onboarding gate',
  'camera.onboard.rejected': 'a camera was refused by the onboarding gate',
  'recording.started': 'recording of a camera started',
  'recording.stopped': 'recording of a camera stopped',
  'recording.deleted': 'recorded video was deleted',
  'recording.retention.changed': 'a retention policy was changed',
  'recording.retention.enforced': 'retention removed (crypto-shredded) expired segments',
  'recording.recovered': 'startup recovery ended or discarded segments a stopped recorder left open',
  'recording.check.repaired': '`palisade check --repair` repaired the segment index, blobs or keys',
  'storage.capacity.warning': 'storage crossed a capacity threshold',
  'storage.full': 'recording stopped cleanly because the video storage is full or nearly full',
  'storage.resumed': 'recording resumed after storage space returned',

  // video access (playback/)
  'video.live.start': 'live view of a camera started',
  'video.live.stop': 'live view of a camera ended (duration, bytes and why in details)',
  'video.playback.start': 'playback of recorded video started',
  'video.download': 'recorded video was downloaded',
  'evidence.export.created': 'an evidence package was produced',
  'evidence.export.requested': 'an evidence export was requested (it runs now, or after a second approval)',
  'evidence.export.downloaded': 'an evidence package was downloaded',
  'evidence.export.failed': 'an evidence export failed (the reason in details)',

  // compliance (compliance/)
  'compliance.attestation.recorded': 'an attestation was recorded for a requirement',
  'compliance.attestation.revoked': 'an attestation was revoked',
  'compliance.countermeasure.recorded': 'a compensating countermeasure was recorded',
  'compliance.countermeasure.revoked': 'a compensating countermeasure was revoked',
  'compliance.pack.created': 'an evidence pack was produced',
} as const;

export type AuditAction = keyof typeof AUDIT_ACTIONS;

export function isAuditAction(value: string): value is AuditAction {
  return Object.hasOwn(AUDIT_ACTIONS, value);
}
