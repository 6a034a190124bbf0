export type IdentityTables = {
  /** Hashes of passwords an account used before (argon2id, as stored then), for the reuse rule. */
  password_history: {
    user_id: string;
    password_hash: string;
    retired_at: string;
  };
  user_account: {
    id: string;
    /** Lower-cased, unique. */
    username: string;
    display_name: string;
    kind: string;
    password_hash: string | null;
    password_changed_at: string | null;
    must_change_password: number;
    disabled: number;
    oidc_issuer: string | null;
    oidc_subject: string | null;
    created_at: string;
    updated_at: string;
    last_login_at: string | null;
  };
  totp_credential: {
    user_id: string;
    /** The shared secret, sealed by the secret box (never stored in clear). */
    secret_sealed: string;
    /** Last accepted 30-second time step: a code for this step or an earlier one is a replay. */
    last_step: number;
    confirmed: number;
    created_at: string;
  };
  webauthn_credential: {
    id: string;
    user_id: string;
    public_key: string;
    counter: number;
    transports: string;
    name: string;
    created_at: string;
    last_used_at: string | null;
  };
  recovery_code: {
    id: string;
    user_id: string;
    code_hash: string;
    created_at: string;
    used_at: string | null;
  };
  user_session: {
    id: string;
    /** SHA-256 of the 256-bit session secret; the secret itself exists only in the client's cookie. */
    token_hash: string;
    user_id: string;
    state: string;
    auth_methods: string;
    created_at: string;
    last_seen_at: string;
    expires_at: string;
    address: string;
    user_agent: string;
    /** A pending WebAuthn challenge bound to this session. */
    challenge: string | null;
  };
  api_token: {
    id: string;
    user_id: string;
    name: string;
    token_hash: string;
    /** JSON array narrowing the service account's permissions, or null for no narrowing. */
    permissions: string | null;
    expires_at: string;
    created_at: string;
    created_by: string;
    revoked_at: string | null;
    last_used_at: string | null;
  };
  login_throttle: {
    key: string;
    failures: number;
    window_started_at: string;
    locked_until: string | null;
    lock_count: number;
  };
  oidc_login: { state: string; nonce: string; code_verifier: string; created_at: string };
};
