/**
 * Findings about BIMI: the Assertion Records at a selector, and the DMARC policy BIMI requires
 * (draft-brand-indicators-for-message-identification, "Receiver Actions: Authentication
 * Requirements"): not p=none, not sp=none, and pct=100 with p=quarantine.
 */
import type { Finding } from '../findings.js';
import type { PolicyDiscovery } from '../dmarc/discover.js';
import { isBimiRecord, parseBimi, type ParsedBimi } from './parse.js';

const DRAFT = 'draft-brand-indicators-for-message-identification';
const BIMI_RECORD_RFC = `${DRAFT} §4.2 (Assertion Record)`;
const BIMI_DISCOVERY_RFC = `${DRAFT} §7.2 (Assertion Record Discovery)`;
const BIMI_DMARC_RFC = `${DRAFT} §7.1 (Authentication Requirements)`;

interface BimiCheck {
  record: string | null;
  parsed: ParsedBimi | null;
  findings: Finding[];
}

export function checkBimiRecords(values: readonly string[], name: string): BimiCheck {
  const records = values.filter(isBimiRecord);
  if (records.length === 0) {
    const near = values.filter((v) => /^\s*v\s*=\s*bimi/i.test(v));
    return {
      record: null,
      parsed: null,
      findings: near.map((v) => ({
        code: 'bimi.invalid-record',
        severity: 'error' as const,
        subject: name,
        message: `"${v.slice(0, 80)}" is not read as a BIMI record: it must begin with exactly "v=BIMI1" (receivers repair nothing)`,
        fix: 'write the record as "v=BIMI1; l=https://…/logo.svg; a=https://…/vmc.pem"',
        rfc: BIMI_RECORD_RFC,
      })),
    };
  }
  if (records.length > 1) {
    return {
      record: null,
      parsed: null,
      findings: [{ code: 'bimi.multiple-records', severity: 'error', subject: name, message: `${records.length} BIMI records are published; receivers then show no logo`, fix: 'keep one "v=BIMI1; …" record', rfc: BIMI_DISCOVERY_RFC }],
    };
  }
  const parsed = parseBimi(records[0]!);
  const findings: Finding[] = [];
  if (parsed.problems.length) {
    findings.push({ code: 'bimi.invalid-record', severity: 'error', subject: name, message: `the BIMI record is not valid (${parsed.problems.join('; ')}); receivers show no logo`, fix: 'publish "v=BIMI1; l=https://…/logo.svg; a=https://…/vmc.pem" (`maildns records` composes it)', rfc: BIMI_RECORD_RFC });
  } else if (parsed.declined) {
    findings.push({ code: 'bimi.declined', severity: 'info', subject: name, message: 'a declination record ("l=; a="): the domain asks receivers to show no logo', rfc: `${DRAFT} §4.2 (Assertion Record: Declination to Publish)` });
  } else if (!parsed.authority) {
    findings.push({ code: 'bimi.no-authority', severity: 'info', subject: name, message: 'no evidence document (a= is empty): many mailbox providers show a BIMI logo only with a mark certificate (VMC or CMC)', fix: 'obtain a mark certificate for the logo and publish its https: URL in a=', rfc: BIMI_RECORD_RFC });
  }
  return { record: records[0]!, parsed, findings };
}

/** The DMARC policy that governs the domain, against what BIMI asks of it. */
export function checkBimiDmarc(discovery: PolicyDiscovery, subject: string): Finding[] {
  if (discovery.status === 'temperror') return [];
  const record = discovery.record;
  if (discovery.status === 'none' || !record?.record) {
    return [{ code: 'bimi.dmarc-missing', severity: 'error', subject, message: `no DMARC record governs ${discovery.fromDomain}; receivers show BIMI logos only for mail under an enforced DMARC policy`, fix: `publish "v=DMARC1; p=quarantine" (or p=reject) at _dmarc.${discovery.fromDomain}`, rfc: BIMI_DMARC_RFC }];
  }
  const out: Finding[] = [];
  const at = discovery.recordName ?? `_dmarc.${discovery.foundAt}`;
  const p = record.record.p;
  const tag = (name: string): string | undefined => record.tags.find((t) => t.name === name)?.value;
  if (p !== 'quarantine' && p !== 'reject') {
    out.push({ code: 'bimi.dmarc-not-enforced', severity: 'error', subject, message: `the DMARC record at ${at} has p=${p ?? '(invalid)'}; BIMI needs p=quarantine or p=reject`, fix: 'move DMARC to p=quarantine (then p=reject) once the reports show all your mail passing', rfc: BIMI_DMARC_RFC });
  }
  if (tag('sp') === 'none') {
    out.push({ code: 'bimi.dmarc-subdomain-none', severity: 'error', subject, message: `the DMARC record at ${at} has sp=none; BIMI is then not applied`, fix: 'remove sp=none, or set sp=quarantine or sp=reject', rfc: BIMI_DMARC_RFC });
  }
  const pct = tag('pct');
  if (pct !== undefined && pct.trim() !== '100' && (p === 'quarantine' || p === 'reject')) {
    out.push({
      code: 'bimi.dmarc-pct',
      severity: p === 'quarantine' ? 'error' : 'warning',
      subject,
      message: `the DMARC record at ${at} has pct=${pct}: the policy covers only part of the mail${p === 'quarantine' ? ', and BIMI requires pct=100 with p=quarantine' : '; receivers may treat it as not enforced'}`,
      fix: 'remove pct (100 is the default)',
      rfc: BIMI_DMARC_RFC,
    });
  }
  return out;
}
