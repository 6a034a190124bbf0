export type AccessTables = {
  role: {
    id: string;
    name: string;
    description: string;
    /** JSON array of permission names. */
    permissions: string;
    built_in: number;
    mfa_required: number;
    created_at: string;
    updated_at: string;
  };
  role_grant: {
    id: string;
    user_id: string;
    role_id: string;
    scope_kind: string;
    scope_id: string | null;
    created_at: string;
    created_by: string;
  };
  approval_request: {
    id: string;
    action: string;
    summary: string;
    /** JSON: what the action needs to run once approved. */
    payload: string;
    requested_by: string;
    requested_at: string;
    expires_at: string;
    status: string;
    decided_by: string | null;
    decided_at: string | null;
    decision_reason: string | null;
    /** JSON: what the action produced when it ran. */
    result: string | null;
  };
};
