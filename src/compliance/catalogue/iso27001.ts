/**
 * ISO/IEC 27001:2022 Annex A controls most relevant to a VMS, and which IEC 62443-3-3 SRs contribute
 * evidence to each. Control numbers and names are facts; the mapping is Palisade's own judgement and is
 * meant to help an ISMS owner reuse SL evidence, not to claim ISO conformity.
 */

export interface AnnexAControl {
  id: string;
  title: string;
  /** SRs whose results are evidence for this control. */
  fromSrs: readonly string[];
  /** Other Palisade catalogues that cover it, when no SR does. */
  alsoCoveredBy?: readonly ('ndaa889' | 'stqc')[];
}

export const ISO27001_VERSION = 'ISO/IEC 27001:2022 Annex A';

export const ANNEX_A_CONTROLS: readonly AnnexAControl[] = [
  { id: 'A.5.9', title: 'Inventory of information and other associated assets', fromSrs: ['SR 7.8'] },
  { id: 'A.5.14', title: 'Information transfer', fromSrs: ['SR 3.1', 'SR 4.1', 'SR 5.3'] },
  { id: 'A.5.15', title: 'Access control', fromSrs: ['SR 2.1', 'SR 2.3'] },
  { id: 'A.5.16', title: 'Identity management', fromSrs: ['SR 1.1', 'SR 1.2', 'SR 1.3', 'SR 1.4'] },
  { id: 'A.5.17', title: 'Authentication information', fromSrs: ['SR 1.5', 'SR 1.7'] },
  { id: 'A.5.18', title: 'Access rights', fromSrs: ['SR 1.3', 'SR 2.1'] },
  {
    id: 'A.5.21',
    title: 'Managing information security in the ICT supply chain',
    fromSrs: [],
    alsoCoveredBy: ['ndaa889', 'stqc'],
  },
  { id: 'A.5.28', title: 'Collection of evidence', fromSrs: ['SR 2.12', 'SR 6.1'] },
  { id: 'A.5.33', title: 'Protection of records', fromSrs: ['SR 3.4', 'SR 3.9'] },
  { id: 'A.5.34', title: 'Privacy and protection of PII', fromSrs: ['SR 4.1'] },
  { id: 'A.7.4', title: 'Physical security monitoring', fromSrs: ['SR 6.2'] },
  { id: 'A.8.2', title: 'Privileged access rights', fromSrs: ['SR 2.1'] },
  { id: 'A.8.3', title: 'Information access restriction', fromSrs: ['SR 2.1', 'SR 4.1'] },
  {
    id: 'A.8.5',
    title: 'Secure authentication',
    fromSrs: [
      'SR 1.1',
      'SR 1.7',
      'SR 1.9',
      'SR 1.10',
      'SR 1.11',
      'SR 1.12',
      'SR 2.5',
      'SR 2.6',
      'SR 2.7',
      'SR 3.8',
    ],
  },
  { id: 'A.8.7', title: 'Protection against malware', fromSrs: ['SR 2.4', 'SR 3.2'] },
  {
    id: 'A.8.8',
    title: 'Management of technical vulnerabilities',
    fromSrs: ['SR 3.4', 'SR 7.8'],
    alsoCoveredBy: ['stqc'],
  },
  { id: 'A.8.9', title: 'Configuration management', fromSrs: ['SR 3.3', 'SR 7.6', 'SR 7.7'] },
  { id: 'A.8.10', title: 'Information deletion', fromSrs: ['SR 4.2'] },
  { id: 'A.8.11', title: 'Data masking', fromSrs: ['SR 4.1'] },
  { id: 'A.8.13', title: 'Information backup', fromSrs: ['SR 7.3', 'SR 7.4'] },
  { id: 'A.8.15', title: 'Logging', fromSrs: ['SR 2.8', 'SR 2.9', 'SR 2.10', 'SR 3.9', 'SR 6.1'] },
  { id: 'A.8.16', title: 'Monitoring activities', fromSrs: ['SR 2.10', 'SR 6.2'] },
  { id: 'A.8.17', title: 'Clock synchronization', fromSrs: ['SR 2.11'] },
  { id: 'A.8.20', title: 'Networks security', fromSrs: ['SR 1.6', 'SR 1.13', 'SR 2.2', 'SR 5.2', 'SR 7.1'] },
  { id: 'A.8.21', title: 'Security of network services', fromSrs: ['SR 1.13', 'SR 7.1', 'SR 7.7'] },
  { id: 'A.8.22', title: 'Segregation of networks', fromSrs: ['SR 5.1', 'SR 5.2', 'SR 5.4'] },
  { id: 'A.8.24', title: 'Use of cryptography', fromSrs: ['SR 1.8', 'SR 1.9', 'SR 3.1', 'SR 4.1', 'SR 4.3'] },
  { id: 'A.8.32', title: 'Change management', fromSrs: ['SR 3.4', 'SR 7.6'] },
];

/** Annex A controls an SR contributes to, for reports that list both. */
export function annexAForSr(sr: string): AnnexAControl[] {
  return ANNEX_A_CONTROLS.filter((c) => c.fromSrs.includes(sr));
}
