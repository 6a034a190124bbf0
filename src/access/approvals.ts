import { randomUUID } from 'node:crypto';
import type { Kysely } from 'kysely';
import type { AuditAction, AuditSink, JsonValue } from '../audit/index.js';
import { tablesOf, type Database } from '../db/index.js';
import { PalisadeError } from '../errors/index.js';
import type { Subject } from './decide.js';
import type { AccessTables } from './tables.js';

/** Actions that can be placed under dual approval (SR 2.1 RE4). */
export const APPROVABLE_ACTIONS = [
  'evidence.export',
  'recording.delete',
  'keys.kek.destroy',
  'role.change',
] as const;
export type ApprovableAction = (typeof APPROVABLE_ACTIONS)[number];

export type ApprovalStatus = 'pending' | 'approved' | 'rejected' | 'expired' | 'failed';

export interface ApprovalRequest {
  id: string;
  action: ApprovableAction;
  summary: string;
  payload: JsonValue;
  requestedBy: string;
  requestedAt: string;
  expiresAt: string;
  status: ApprovalStatus;
  decidedBy: string | null;
  decidedAt: string | null;
  decisionReason: string | null;
  result: JsonValue;
}

/** Runs an approved action. `payload` is what the requester asked for; the return value is recorded. */
export type ApprovalExecutor = (
  payload: JsonValue,
  context: { requestedBy: string; approvedBy: Subject },
) => Promise<JsonValue>;

/**
 * Four-eyes control: a request waits until a different person holding `approvals.decide` approves it;
 * then the registered executor runs it. Requesting, approving, rejecting and expiry are all audited.
 */
export class Approvals {
  private readonly db: Kysely<AccessTables>;
  private readonly executors = new Map<ApprovableAction, ApprovalExecutor>();

  constructor(
    database: Database,
    private readonly audit: AuditSink,
    private readonly policy: { actions: readonly string[]; expirySeconds: number },
  ) {
    this.db = tablesOf<AccessTables>(database);
  }

  /** Whether policy puts this action under dual approval. */
  requires(action: ApprovableAction): boolean {
    return this.policy.actions.includes(action);
  }

  get configuredActions(): readonly string[] {
    return this.policy.actions;
  }

  register(action: ApprovableAction, executor: ApprovalExecutor): void {
    this.executors.set(action, executor);
  }

  async request(input: {
    action: ApprovableAction;
    summary: string;
    payload: JsonValue;
    by: Subject;
  }): Promise<ApprovalRequest> {
    if (!this.executors.has(input.action)) {
      throw new PalisadeError('APPROVAL_UNSUPPORTED', `no executor registered for ${input.action}`, {
        status: 500,
      });
    }
    const now = new Date();
    const request: ApprovalRequest = {
      id: randomUUID(),
      action: input.action,
      summary: input.summary.slice(0, 500),
      payload: input.payload,
      requestedBy: input.by.userId,
      requestedAt: now.toISOString(),
      expiresAt: new Date(now.getTime() + this.policy.expirySeconds * 1000).toISOString(),
      status: 'pending',
      decidedBy: null,
      decidedAt: null,
      decisionReason: null,
      result: null,
    };
    await this.audit.append({
      action: 'approval.requested',
      outcome: 'success',
      actor: actorOf(input.by),
      target: { type: 'approval', id: request.id },
      details: { approvalAction: request.action, summary: request.summary },
    });
    await this.db
      .insertInto('approval_request')
      .values({
        id: request.id,
        action: request.action,
        summary: request.summary,
        payload: JSON.stringify(request.payload),
        requested_by: request.requestedBy,
        requested_at: request.requestedAt,
        expires_at: request.expiresAt,
        status: 'pending',
        decided_by: null,
        decided_at: null,
        decision_reason: null,
        result: null,
      })
      .execute();
    return request;
  }

  async get(id: string): Promise<ApprovalRequest | undefined> {
    await this.expireDue();
    const row = await this.db
      .selectFrom('approval_request')
      .selectAll()
      .where('id', '=', id)
      .executeTakeFirst();
    return row && toRequest(row);
  }

  /** The newest 500 requests, optionally only those in one status or made by one user. */
  async list(status?: ApprovalStatus, requestedBy?: string): Promise<ApprovalRequest[]> {
    await this.expireDue();
    let q = this.db.selectFrom('approval_request').selectAll().orderBy('requested_at', 'desc').limit(500);
    if (status !== undefined) q = q.where('status', '=', status);
    if (requestedBy !== undefined) q = q.where('requested_by', '=', requestedBy);
    return (await q.execute()).map(toRequest);
  }

  /** Approves and runs the action. The approver must not be the requester. */
  async approve(id: string, approver: Subject, reason = ''): Promise<ApprovalRequest> {
    const request = await this.pending(id, approver, 'approve');
    const claimed = await this.db
      .updateTable('approval_request')
      .set({
        status: 'approved',
        decided_by: approver.userId,
        decided_at: new Date().toISOString(),
        decision_reason: reason,
      })
      .where('id', '=', id)
      .where('status', '=', 'pending')
      .executeTakeFirst();
    if (claimed.numUpdatedRows === 0n)
      throw new PalisadeError('APPROVAL_NOT_PENDING', 'the request was decided meanwhile', { status: 409 });
    await this.audit.append({
      action: 'approval.approved',
      outcome: 'success',
      actor: actorOf(approver),
      target: { type: 'approval', id },
      details: { approvalAction: request.action, requestedBy: request.requestedBy },
    });
    const executor = this.executors.get(request.action)!;
    try {
      const result = await executor(request.payload, {
        requestedBy: request.requestedBy,
        approvedBy: approver,
      });
      await this.db
        .updateTable('approval_request')
        .set({ result: JSON.stringify(result) })
        .where('id', '=', id)
        .execute();
    } catch (err) {
      await this.db
        .updateTable('approval_request')
        .set({
          status: 'failed',
          result: JSON.stringify({ error: err instanceof Error ? err.message : String(err) }),
        })
        .where('id', '=', id)
        .execute();
      throw err;
    }
    return (await this.get(id))!;
  }

  async reject(id: string, decider: Subject, reason: string): Promise<ApprovalRequest> {
    const request = await this.pending(id, decider, 'reject', true);
    await this.db
      .updateTable('approval_request')
      .set({
        status: 'rejected',
        decided_by: decider.userId,
        decided_at: new Date().toISOString(),
        decision_reason: reason,
      })
      .where('id', '=', id)
      .where('status', '=', 'pending')
      .execute();
    await this.audit.append({
      action: 'approval.rejected',
      outcome: 'success',
      actor: actorOf(decider),
      target: { type: 'approval', id },
      reason,
      details: { approvalAction: request.action, requestedBy: request.requestedBy },
    });
    return (await this.get(id))!;
  }

  private async pending(
    id: string,
    by: Subject,
    verb: string,
    requesterMay = false,
  ): Promise<ApprovalRequest> {
    const request = await this.get(id);
    if (!request) throw new PalisadeError('APPROVAL_NOT_FOUND', `no approval request ${id}`, { status: 404 });
    if (request.status !== 'pending') {
      throw new PalisadeError('APPROVAL_NOT_PENDING', `the request is ${request.status}`, { status: 409 });
    }
    if (!requesterMay && request.requestedBy === by.userId) {
      await this.audit.append({
        action: 'access.denied',
        outcome: 'denied',
        actor: actorOf(by),
        target: { type: 'approval', id },
        reason: `the requester cannot ${verb} their own request`,
      });
      throw new PalisadeError('APPROVAL_SELF', `a different person must ${verb} this request`, {
        status: 403,
      });
    }
    return request;
  }

  private async expireDue(): Promise<void> {
    const now = new Date().toISOString();
    const due = await this.db
      .updateTable('approval_request')
      .set({ status: 'expired', decided_at: now })
      .where('status', '=', 'pending')
      .where('expires_at', '<=', now)
      .returning(['id', 'action'])
      .execute();
    for (const row of due) {
      await this.audit.append({
        action: 'approval.expired' satisfies AuditAction,
        outcome: 'failure',
        actor: { type: 'system', id: 'access.approvals' },
        target: { type: 'approval', id: row.id },
        reason: 'no decision before the expiry time',
        details: { approvalAction: row.action },
      });
    }
  }
}

export function actorOf(subject: Subject) {
  return {
    type: subject.kind === 'service' ? ('service' as const) : ('user' as const),
    id: subject.userId,
    name: subject.username,
    auth: subject.auth,
    address: subject.address,
  };
}

function toRequest(r: AccessTables['approval_request']): ApprovalRequest {
  return {
    id: r.id,
    action: r.action as ApprovableAction,
    summary: r.summary,
    payload: JSON.parse(r.payload) as JsonValue,
    requestedBy: r.requested_by,
    requestedAt: r.requested_at,
    expiresAt: r.expires_at,
    status: r.status as ApprovalStatus,
    decidedBy: r.decided_by,
    decidedAt: r.decided_at,
    decisionReason: r.decision_reason,
    result: r.result === null ? null : (JSON.parse(r.result) as JsonValue),
  };
}
