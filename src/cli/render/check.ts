/**
 * Output of `maildns check`, written as results arrive (nothing accumulates per domain):
 *
 * - text: one line per domain (PASS / FAIL / DNS?) with its findings below, then a summary.
 * - json: one document, streamed:
 *     { "version": 1,
 *       "domains": [ { "domain", "status": "pass"|"fail"|"dns-error",
 *                      "spf":   { "published": string|string[]|null, "dnsFailed": bool, "lookups"?: number },
 *                      "dmarc": { ..., "governing": { "recordName", "policy", "adkim", "aspf" } | null }, "mx": { ... }, "tlsRpt": { ... }, "bimi": { ... },
 *                      "mtaSts": { ..., "policy"?: { "url", "fetched", "text", "parsed", "failure"?, "detail"? } },
 *                      "tls"?: { "results": [ { "host", "address", "port", "state", "step"?, "greeting"?, "extensions"?, "reply"?, "tlsVersion"?, "cipher"?,
 *                                "certificate"?: { "subject", "altNames", "issuer", "validTo", "trusted", "nameValid", "error"? },
 *                                "mtaSts"?: { "mode", "pattern", "satisfied" }, "dane"?: { "tlsa", "matched" }, "detail"?, "sentAhead"?,
 *                                "legacyTls"?: { "tlsVersion", "cipher", "sentAhead"? },
 *                                "legacyTlsFailed"?: { "state", "step"?, "detail"?, "reply"?, "sentAhead"? } } ], "dnsFailed" },
 *                              (a result per address of each MX host, A before AAAA; "address": null for a host with none)
 *                      "rdns"?: { "results": [ { "address", "source", "reverseName", "ptr", "confirmedName", "helo"?, "state" } ], "dnsFailed" },
 *                      "dnssec"?: { "zone", "signed", "validation": "secure"|"insecure"|"bogus"|"indeterminate", "resolver",
 *                                   "dnskeys": [ { "keyTag", "algorithm", "flags" } ], "ds": [ { "keyTag", "algorithm", "digestType", "matches" } ],
 *                                   "tlsa": [ { "host", "name", "state", "records" } ], "dnsFailed" },
 *                      "dkim":  [ { "selector", "published", "dnsFailed" } ],
 *                      "findings": [ { "code", "severity", "subject", "message", "fix"?, "rfc"? } ],
 *                      "ms": number } ... ],
 *       "summary": { "domains", "pass", "fail", "dnsError", "errors", "warnings", "infos", "ms", "outcome", "exitCode", "queries" } }
 *   `summary` also has "failOn" and "selectors" (what the run checked against), and "shard":
 *   { "index", "count" } when it checked one shard of a list; a merge has "sources" instead.
 *   Fields are only ever added in version 1; a removal or change of meaning bumps the version.
 * - ndjson: one line per domain as it is done, written at once (for pipes and log shippers):
 *     { "type": "domain", ...the domain's object above }
 *   and when the run ends, one last line { "type": "summary", "version": 1, "summary": { ... } }.
 *   A stream without that last line is from a run that did not finish.
 * - junit: JUnit XML, one <testcase> per domain (classname "maildns.check"); a failing domain has a
 *   <failure> per finding at or above --fail-on, a domain whose DNS failed has an <error>, other
 *   findings go to <system-out>. Test cases are spooled to a temporary file because the counts
 *   belong in the opening <testsuite> tag.
 */
import { createReadStream, createWriteStream, mkdtempSync, rmSync, type WriteStream } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Writable } from 'node:stream';
import { write } from './write.js';
import { once } from 'node:events';
import { printable, type Severity } from '../../findings.js';
import { paint } from './output.js';
import { isTemporaryFinding, type DomainResult } from '../../check/audit.js';
import type { RunSummary } from '../../check/run.js';
import { CHECK_JSON_VERSION } from '../../report/json-version.js';
import type { ReportContext } from '../../report/format.js';
import type { DomainChange } from '../../history/changes.js';
import { CHECK_FORMATS, type CheckFormat } from './formats.js';

/** The run's summary as reported: the engine's figures, the exit code the CLI chose, the DNS queries sent, what was checked. */
export type ReportSummary = RunSummary & ReportContext & { exitCode: number; queries: number };

export { CHECK_JSON_VERSION, CHECK_FORMATS, type CheckFormat };

export interface Reporter {
  begin(): Promise<void>;
  /** `changes`: what changed since the domain's last recorded result, when history is kept. */
  result(r: DomainResult, changes?: readonly DomainChange[]): Promise<void>;
  end(summary: ReportSummary): Promise<void>;
  /** Drop temporary files when the run stops early (synchronous: a signal handler calls it). */
  abort?(): void;
}

interface ReporterOptions {
  color: boolean;
  failOn: Severity;
  quiet?: boolean;
  /** History is kept (the HTML page shows the changes since the last run). */
  history?: boolean;
}

/** The reporter of a format, writing to `out`; the HTML one's module loads only for --format html. */
export async function reporterFor(format: CheckFormat, out: Writable, opts: ReporterOptions): Promise<Reporter> {
  switch (format) {
    case 'json':
      return jsonReporter(out);
    case 'ndjson':
      return ndjsonReporter(out);
    case 'junit':
      return junitReporter(out, { failOn: opts.failOn });
    case 'html':
      return (await import('./html.js')).htmlReporter(out, { failOn: opts.failOn, history: opts.history ?? false });
    case 'text':
      return textReporter(out, { color: opts.color, failOn: opts.failOn, quiet: opts.quiet ?? false });
    default:
      throw new Error(`no reporter for format ${JSON.stringify(format)}`);
  }
}


const rank: Record<Severity, number> = { error: 2, warning: 1, info: 0 };

function textReporter(out: Writable, opts: { color: boolean; failOn: Severity; quiet?: boolean }): Reporter {
  const { color } = opts;
  return {
    async begin() {},
    async result(r) {
      const label = r.status === 'pass' ? paint('PASS', 'green', color) : r.status === 'fail' ? paint('FAIL', 'red', color) : paint('DNS?', 'yellow', color);
      const shown = r.findings.filter((f) => f.severity !== 'info' || r.status !== 'pass');
      if (opts.quiet && r.status === 'pass') return;
      const counts = (['error', 'warning'] as const).map((s) => [s, r.findings.filter((f) => f.severity === s).length] as const).filter(([, n]) => n > 0);
      const tail = r.status === 'dns-error' ? '  could not be checked fully (temporary DNS failure)' : counts.length ? `  ${counts.map(([s, n]) => `${n} ${s}${n === 1 ? '' : 's'}`).join(', ')}` : '';
      // A domain read from a list or a merged report: printable as the findings are.
      let text = `${label}  ${printable(r.domain)}${tail}\n`;
      for (const f of shown.sort((a, b) => rank[b.severity] - rank[a.severity])) {
        const tint = f.severity === 'error' ? 'red' : f.severity === 'warning' ? 'yellow' : 'dim';
        text += `      ${paint(f.severity.toUpperCase().padEnd(7), tint, color)} ${f.code}  ${printable(f.subject)}: ${printable(f.message)}\n`;
        if (f.fix && f.severity !== 'info') text += `              fix: ${printable(f.fix)}\n`;
      }
      await write(out, text);
    },
    async end(s) {
      const secs = (s.ms / 1000).toFixed(1);
      const line = `checked ${s.domains} domain${s.domains === 1 ? '' : 's'} in ${secs}s: ${s.pass} pass, ${s.fail} fail, ${s.dnsError} could not be checked (DNS); ${s.errors} error${s.errors === 1 ? '' : 's'}, ${s.warnings} warning${s.warnings === 1 ? '' : 's'}`;
      await write(out, `\n${paint(line, s.exitCode === 0 ? 'green' : 'bold', color)}\n`);
    },
  };
}

/** Bytes of the JSON document gathered before a write: the document is read only once whole, and a write per domain was a tenth of a bulk run's CPU. */
const JSON_CHUNK = 64 * 1024;

function jsonReporter(out: Writable): Reporter {
  let first = true;
  let pending = '';
  return {
    async begin() {
      pending = `{"version":${CHECK_JSON_VERSION},"domains":[`;
    },
    async result(r) {
      pending += `${first ? '\n' : ',\n'}${JSON.stringify(r)}`;
      first = false;
      if (pending.length < JSON_CHUNK) return;
      const chunk = pending;
      pending = '';
      await write(out, chunk);
    },
    async end(s) {
      await write(out, `${pending}\n],"summary":${JSON.stringify(s)}}\n`);
      pending = '';
    },
  };
}

function ndjsonReporter(out: Writable): Reporter {
  return {
    async begin() {},
    async result(r) {
      // One write per line: on a pipe or a file it goes out at once, whole.
      await write(out, `${JSON.stringify({ type: 'domain', ...r })}\n`);
    },
    async end(s) {
      await write(out, `${JSON.stringify({ type: 'summary', version: CHECK_JSON_VERSION, summary: s })}\n`);
    },
  };
}

const xmlEscape = (s: string): string =>
  s
    .replace(/[\u0000-\u0008\u000b\u000c\u000e-\u001f]/g, '')
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;');

function junitReporter(out: Writable, opts: { failOn: Severity }): Reporter {
  let dir = '';
  let spool: WriteStream;
  let spoolFile = '';
  const started = new Date();
  return {
    async begin() {
      dir = mkdtempSync(path.join(tmpdir(), 'maildns-junit-'));
      spoolFile = path.join(dir, 'cases.xml');
      spool = createWriteStream(spoolFile);
    },
    async result(r) {
      const failing = r.findings.filter((f) => rank[f.severity] >= rank[opts.failOn] && !isTemporaryFinding(f));
      const temporary = r.findings.filter(isTemporaryFinding);
      const rest = r.findings.filter((f) => !failing.includes(f) && !temporary.includes(f));
      let xml = `    <testcase classname="maildns.check" name="${xmlEscape(r.domain)}" time="${(r.ms / 1000).toFixed(3)}">\n`;
      if (r.status === 'fail') {
        for (const f of failing) {
          xml += `      <failure type="${xmlEscape(f.code)}" message="${xmlEscape(`${f.subject}: ${f.message}`)}">${xmlEscape([`${f.severity.toUpperCase()} ${f.code}`, `${f.subject}: ${f.message}`, f.fix ? `fix: ${f.fix}` : '', f.rfc ? `see: ${f.rfc}` : ''].filter(Boolean).join('\n'))}</failure>\n`;
        }
      } else if (r.status === 'dns-error') {
        xml += `      <error type="dns-temporary" message="${xmlEscape(`DNS could not be asked for ${r.domain}; run again later`)}">${xmlEscape(temporary.map((f) => `${f.subject}: ${f.message}`).join('\n'))}</error>\n`;
      }
      const other = r.status === 'fail' ? [...rest, ...temporary] : rest;
      if (other.length) xml += `      <system-out>${xmlEscape(other.map((f) => `${f.severity.toUpperCase()} ${f.code} ${f.subject}: ${f.message}`).join('\n'))}</system-out>\n`;
      xml += '    </testcase>\n';
      await write(spool, xml);
    },
    abort() {
      spool?.destroy();
      if (dir) rmSync(dir, { recursive: true, force: true });
    },
    async end(s) {
      spool.end();
      await once(spool, 'finish');
      const attrs = `tests="${s.domains}" failures="${s.fail}" errors="${s.dnsError}" skipped="0" time="${(s.ms / 1000).toFixed(3)}"`;
      await write(out, `<?xml version="1.0" encoding="UTF-8"?>\n<testsuites name="maildns check" ${attrs}>\n  <testsuite name="maildns check" ${attrs} timestamp="${started.toISOString().slice(0, 19)}">\n`);
      for await (const chunk of createReadStream(spoolFile)) await write(out, chunk as unknown as string);
      await write(out, '  </testsuite>\n</testsuites>\n');
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
