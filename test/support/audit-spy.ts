import type { AuditEventInput, AuditSink } from '../../src/audit/index.js';

/** Records appended events in memory, for unit tests of a module's audit calls. */
export class AuditSpy implements AuditSink {
  readonly events: AuditEventInput[] = [];

  async append(input: AuditEventInput): Promise<{ index: number }> {
    this.events.push(structuredClone(input));
    return { index: this.events.length - 1 };
  }

  actions(): string[] {
    return this.events.map((e) => e.action);
  }

  count(action: string, outcome?: string): number {
    return this.events.filter((e) => e.action === action && (outcome === undefined || e.outcome === outcome))
      .length;
  }
}
