import { FOUNDATIONAL_REQUIREMENTS } from '../catalogue/index.js';
import type { ComplianceEvaluation, RequirementResult, ZoneEvaluation } from '../engine.js';
import type { Attestation, Countermeasure } from '../records.js';

/**
 * The pack's human-readable report: one self-contained HTML file (inline style, no script, no external
 * asset) an auditor can open offline. Every value from the system is escaped.
 */

export interface ReportContext {
  evaluation: ComplianceEvaluation;
  attestations: readonly Attestation[];
  countermeasures: readonly Countermeasure[];
  auditCheckpoint: string | null;
  generator: string;
  instanceId: string | null;
  signerFingerprint: string;
  signerName: string;
}

export function escapeHtml(value: unknown): string {
  return String(value)
    .replaceAll('&', '&amp;')
    .replaceAll('<', '&lt;')
    .replaceAll('>', '&gt;')
    .replaceAll('"', '&quot;')
    .replaceAll("'", '&#39;');
}

const STYLE = `
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",sans-serif;margin:2rem auto;max-width:72rem;padding:0 1rem;color:#1b1f24}
h1{font-size:1.6rem}h2{font-size:1.25rem;margin-top:2.2rem;border-bottom:1px solid #ccd}h3{font-size:1.05rem}
table{border-collapse:collapse;margin:.6rem 0;width:100%}th,td{border:1px solid #ccd;padding:.25rem .45rem;text-align:left;vertical-align:top}
th{background:#f2f4f7}td.n{text-align:center;font-weight:600}.low{background:#fde8e8}.ok{background:#e6f4ea}
.met{color:#176f2c}.not-met{color:#b3261e}.not-assessed{color:#8a5a00}.not-applicable{color:#555}
.comp{background:#fff4d6}code,pre{font:12px/1.4 ui-monospace,monospace;background:#f6f8fa}pre{padding:.6rem;overflow-x:auto;white-space:pre-wrap}
small{color:#555}`;

function statusCell(r: RequirementResult): string {
  const label = r.basis === 'compensated' ? 'met (compensated)' : r.status;
  return `<span class="${escapeHtml(r.basis === 'compensated' ? 'not-assessed' : r.status)}">${escapeHtml(label)}</span>`;
}

function vectorTable(z: ZoneEvaluation): string {
  const head = FOUNDATIONAL_REQUIREMENTS.map((f) => `<th>FR${f.fr} ${escapeHtml(f.code)}</th>`).join('');
  const target = z.slTarget.map((n) => `<td class="n">${n}</td>`).join('');
  const achieved = z.slAchieved
    .map((n, i) => {
      const cls = n < z.slTarget[i]! ? 'low' : 'ok';
      const comp = z.compensated[i] ? '*' : '';
      return `<td class="n ${cls}">${n}${comp}</td>`;
    })
    .join('');
  return `<table><tr><th></th>${head}</tr><tr><th>SL-T (target)</th>${target}</tr><tr><th>SL-A (achieved)</th>${achieved}</tr></table>
<p><small>* this level is reached only with a compensating countermeasure (see below).</small></p>`;
}

function gapList(z: ZoneEvaluation): string {
  const rows = z.gaps
    .map((g) => {
      const items = (g.next?.blockers ?? [])
        .map(
          (b) =>
            `<li><b>${escapeHtml(b.requirement)}</b> ${escapeHtml(b.title)} (SL ${b.level}, ${escapeHtml(b.status)}): ${escapeHtml(b.reason)}<br><small>To change it: ${escapeHtml(b.remedy)}</small></li>`,
        )
        .join('');
      const more = g.toTarget.filter((t) => t.level > (g.next?.level ?? 5));
      const beyond = more.length
        ? `<p><small>Also needed for SL-T ${g.target}: ${more.map((t) => escapeHtml(t.requirement)).join(', ')}</small></p>`
        : '';
      const heading = g.next
        ? `FR${g.fr} ${escapeHtml(g.code)}: SL-A ${g.achieved}${g.compensated ? '*' : ''}, SL-T ${g.target}; SL ${g.next.level} is blocked by`
        : `FR${g.fr} ${escapeHtml(g.code)}: SL-A 4 (the highest level)`;
      return `<h3>${heading}</h3>${items ? `<ol>${items}</ol>` : ''}${beyond}`;
    })
    .join('');
  return rows;
}

function resultsTable(z: ZoneEvaluation): string {
  const rows = z.results
    .map((r) => {
      const evidence = r.evidence
        .map(
          (f) =>
            `<code>${escapeHtml(f.key)}</code> = <code>${escapeHtml(JSON.stringify(f.value))}</code> <small>(${escapeHtml(f.source)}, ${escapeHtml(f.observedAt)})</small>`,
        )
        .join('<br>');
      const extra = [
        r.attestation
          ? `attestation ${escapeHtml(r.attestation.id)} by ${escapeHtml(r.attestation.attestedBy.name)}, expires ${escapeHtml(r.attestation.expiresAt)}`
          : '',
        r.countermeasure
          ? `<b>compensating countermeasure</b> by ${escapeHtml(r.countermeasure.recordedBy.name)}: ${escapeHtml(r.countermeasure.description)}<br><small>underlying result: ${escapeHtml(r.check.status)}: ${escapeHtml(r.check.reason)}</small>`
          : '',
      ]
        .filter(Boolean)
        .join('<br>');
      return `<tr${r.basis === 'compensated' ? ' class="comp"' : ''}><td>${escapeHtml(r.requirement)}</td><td>${escapeHtml(r.title)}</td><td class="n">${r.level ?? 'omitted'}</td><td>${escapeHtml(r.kind)}</td><td>${statusCell(r)}</td><td>${escapeHtml(r.check.reason)}${extra ? `<br>${extra}` : ''}${evidence ? `<br>${evidence}` : ''}</td></tr>`;
    })
    .join('\n');
  return `<table><tr><th>Requirement</th><th>Title</th><th>SL</th><th>Assessed by</th><th>Result</th><th>Why, and evidence</th></tr>${rows}</table>`;
}

export function renderReport(ctx: ReportContext): string {
  const e = ctx.evaluation;
  const zones = e.zones
    .map(
      (z) => `<h2>Zone ${escapeHtml(z.zone.name)} <small>(${escapeHtml(z.zone.id)})</small></h2>
${vectorTable(z)}
<h3>Gap list</h3>${gapList(z)}
<h3>Every requirement</h3>${resultsTable(z)}`,
    )
    .join('\n');
  const overrides = e.overrides.length
    ? `<ul>${e.overrides.map((o) => `<li>${escapeHtml(o.requirement)} gated at ${o.level === null ? 'no level (omitted)' : `SL ${o.level}`} instead of the catalogue's value</li>`).join('')}</ul>`
    : '<p>None: the catalogue gating is used as published.</p>';
  const attestations = ctx.attestations.length
    ? `<table><tr><th>Id</th><th>Requirement</th><th>Zone</th><th>Verdict</th><th>Statement</th><th>By</th><th>Valid</th><th>Attachments</th></tr>${ctx.attestations
        .map(
          (a) =>
            `<tr><td>${escapeHtml(a.id)}</td><td>${escapeHtml(a.requirement)}</td><td>${escapeHtml(a.zone ?? 'all')}</td><td>${escapeHtml(a.verdict)}</td><td>${escapeHtml(a.statement)}</td><td>${escapeHtml(a.attestedBy.name)} (${escapeHtml(a.attestedBy.id)})</td><td>${escapeHtml(a.createdAt)} to ${escapeHtml(a.expiresAt)}${a.revokedAt ? `, revoked ${escapeHtml(a.revokedAt)}` : ''}</td><td>${a.attachments.map((f) => `${escapeHtml(f.name)} <small>sha256 ${escapeHtml(f.sha256)}</small>`).join('<br>')}</td></tr>`,
        )
        .join('')}</table>`
    : '<p>No attestations recorded.</p>';
  const countermeasures = ctx.countermeasures.length
    ? `<table><tr><th>Id</th><th>Requirement</th><th>Zone</th><th>Measure</th><th>By</th><th>Valid</th></tr>${ctx.countermeasures
        .map(
          (c) =>
            `<tr><td>${escapeHtml(c.id)}</td><td>${escapeHtml(c.requirement)}</td><td>${escapeHtml(c.zone ?? 'all')}</td><td>${escapeHtml(c.description)}</td><td>${escapeHtml(c.recordedBy.name)} (${escapeHtml(c.recordedBy.id)})</td><td>${escapeHtml(c.createdAt)} to ${escapeHtml(c.expiresAt)}${c.revokedAt ? `, revoked ${escapeHtml(c.revokedAt)}` : ''}</td></tr>`,
        )
        .join('')}</table>`
    : '<p>No compensating countermeasures recorded.</p>';
  const checkpoint =
    ctx.auditCheckpoint !== null
      ? `<p>The audit log checkpoint current when this pack was made (also in <code>audit-checkpoint.txt</code>):</p><pre>${escapeHtml(ctx.auditCheckpoint)}</pre>`
      : '<p><b>No audit checkpoint was given.</b> This pack does not bind to a state of the audit log.</p>';
  const errors = e.facts.errors.length
    ? `<ul>${e.facts.errors.map((x) => `<li>${escapeHtml(x.source)}: ${escapeHtml(x.message)}</li>`).join('')}</ul>`
    : '<p>Every fact source answered.</p>';
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Palisade IEC 62443 evidence pack</title>
<meta name="viewport" content="width=device-width, initial-scale=1"><style>${STYLE}</style></head>
<body>
<h1>IEC 62443-3-3 evidence pack</h1>
<p>Made by ${escapeHtml(ctx.generator)}${ctx.instanceId ? ` (instance ${escapeHtml(ctx.instanceId)})` : ''} at ${escapeHtml(e.evaluatedAt)}.
Catalogue ${escapeHtml(e.catalogueVersion)}. Signed by ${escapeHtml(ctx.signerName)}, key fingerprint <code>${escapeHtml(ctx.signerFingerprint)}</code>.</p>
<p>SL-A for a foundational requirement is the highest level n at which every requirement applying at n or below is met,
not applicable (with a justification) or compensated. "Not assessed" never counts as met. Results marked "observed"
come from facts the running system reported (listed as evidence); "attested" ones from a named person's statement.</p>
<h2>Gating overrides</h2>${overrides}
${zones}
<h2>Attestations</h2>${attestations}
<h2>Compensating countermeasures</h2>${countermeasures}
<h2>Audit log checkpoint</h2>${checkpoint}
<h2>Fact sources</h2><p>Sources: ${escapeHtml(Object.values(e.facts.sources).flat().join(', ') || 'none')}. Collected ${escapeHtml(e.facts.collectedAt)}.</p>${errors}
<h2>Verifying this pack</h2>
<p>Run <code>palisade compliance verify &lt;this folder or zip&gt;</code>, or follow docs/formats/evidence-pack.md: check the Ed25519 signature in
<code>manifest.sig</code> over the bytes of <code>manifest.json</code> with the public key whose fingerprint is given above (compare it with the
one the asset owner gave you), then the SHA-256 of every file listed, and that no other file is present.</p>
</body></html>
`;
}
