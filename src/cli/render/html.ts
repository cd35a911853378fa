/**
 * `--format html`: one self-contained page (inline style and script, no outside assets; a Content
 * Security Policy forbids loading any) with the summary, the changes since the last run when
 * history is kept, and a table of every domain that sorts by any column and filters by text and
 * verdict, each domain opening onto its findings and their fixes.
 *
 * Rows are spooled to a temporary file as results arrive (the summary comes first in the page but
 * is known last), so memory does not grow with the number of domains.
 */
import { createReadStream, createWriteStream, mkdtempSync, rmSync, type WriteStream } from 'node:fs';
import { once } from 'node:events';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Writable } from 'node:stream';
import { write } from './write.js';
import { isTemporaryFinding, type DomainResult } from '../../check/audit.js';
import type { Finding, Severity } from '../../findings.js';
import type { DomainChange } from '../../history/changes.js';
import type { Reporter, ReportSummary } from './check.js';

/** Changes listed at the top of the page (each domain's own list, in its details, is never cut). */
const TOP_CHANGES = 500;

const esc = (s: string): string => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&#39;');


const STATUS_LABEL = { pass: 'pass', fail: 'fail', 'dns-error': 'DNS?' } as const;
const STATUS_RANK = { fail: 0, 'dns-error': 1, pass: 2 } as const;
const SEVERITY_RANK: Record<Severity, number> = { error: 0, warning: 1, info: 2 };

const rec = (p: string | string[] | null): string => (p === null ? '' : Array.isArray(p) ? p.join(' | ') : p);

function partCell(part: { published: string | string[] | null; dnsFailed: boolean }, none = 'none'): string {
  if (part.dnsFailed) return '<span class="pill dns">DNS failed</span>';
  if (part.published === null) return `<span class="muted">${none}</span>`;
  // Several SPF or DMARC records: each check of them fails.
  if (Array.isArray(part.published) && part.published.length > 1) return `<span class="pill bad" title="${esc(rec(part.published))}">${part.published.length} records</span>`;
  return `<span class="rec" title="${esc(rec(part.published))}">${esc(rec(part.published))}</span>`;
}

function dmarcCell(part: DomainResult['dmarc']): string {
  const one = Array.isArray(part.published) && part.published.length === 1 ? part.published[0]! : part.published;
  if (part.dnsFailed || one === null || Array.isArray(one)) return partCell(part);
  const p = /(?:^|;)\s*p\s*=\s*([a-z]+)/i.exec(one)?.[1]?.toLowerCase() ?? '?';
  return `<span class="rec policy-${esc(p)}" title="${esc(one)}">p=${esc(p)}</span>`;
}

/** MX hosts in preference order, without the numbers. */
function mxCell(part: DomainResult['mx']): string {
  if (part.dnsFailed || part.published === null) return partCell(part);
  const all = Array.isArray(part.published) ? part.published : [part.published];
  const hosts = all.map((v) => v.replace(/^\d+\s+/, ''));
  return `<span class="rec" title="${esc(all.join('\n'))}">${esc(hosts.join(', '))}</span>`;
}

function dkimCell(dkim: DomainResult['dkim']): string {
  if (dkim.length === 0) return '<span class="muted">not asked</span>';
  return dkim
    .map((d) => {
      const cls = d.dnsFailed ? 'dns' : d.published === null ? 'bad' : 'good';
      const mark = d.dnsFailed ? '?' : d.published === null ? '✗' : '✓';
      return `<span class="pill ${cls}" title="${esc(d.published === null ? (d.dnsFailed ? 'DNS failed' : 'no key published') : rec(d.published))}">${esc(d.selector)} ${mark}</span>`;
    })
    .join(' ');
}

function findingRow(f: Finding): string {
  return (
    `<li class="finding sev-${f.severity}${isTemporaryFinding(f) ? ' temporary' : ''}"><span class="sev">${f.severity}</span> <code>${esc(f.code)}</code> ` +
    `<span class="subject">${esc(f.subject)}</span>: ${esc(f.message)}` +
    (f.fix ? `<div class="fix"><b>Fix:</b> ${esc(f.fix)}</div>` : '') +
    (f.rfc ? `<div class="rfc">${esc(f.rfc)}</div>` : '') +
    '</li>'
  );
}

function changeItem(c: DomainChange, withDomain: boolean): string {
  const mark = c.direction === 'worse' ? '▲ worse' : c.direction === 'better' ? '▼ better' : '• changed';
  return `<li class="change ${c.direction}"><span class="dir">${mark}</span> ${withDomain ? `<a href="#d-${esc(c.domain)}" class="domain-link">${esc(c.domain)}</a> ` : ''}${esc(c.message)}</li>`;
}

function domainBody(r: DomainResult, failOn: Severity, changes: readonly DomainChange[] | undefined): string {
  const definite = r.findings.filter((f) => !isTemporaryFinding(f));
  const errors = definite.filter((f) => f.severity === 'error').length;
  const warnings = definite.filter((f) => f.severity === 'warning').length;
  const worse = changes?.filter((c) => c.direction === 'worse').length ?? 0;
  const search = [r.domain, ...r.findings.map((f) => f.code)].join(' ').toLowerCase();
  const findings = [...r.findings].sort((a, b) => SEVERITY_RANK[a.severity] - SEVERITY_RANK[b.severity]);
  const attrs =
    `id="d-${esc(r.domain)}" data-domain="${esc(r.domain)}" data-status="${r.status}" data-rank="${STATUS_RANK[r.status]}" ` +
    `data-errors="${errors}" data-warnings="${warnings}" data-changes="${changes?.length ?? 0}" data-search="${esc(search)}"`;
  return (
    `<tbody ${attrs}>` +
    `<tr class="main"><td><button type="button" class="toggle" aria-expanded="false" title="show findings">▸</button> <span class="domain">${esc(r.domain)}</span></td>` +
    `<td><span class="pill status-${r.status}">${STATUS_LABEL[r.status]}</span></td>` +
    `<td class="num">${errors || ''}</td><td class="num">${warnings || ''}</td>` +
    `<td>${partCell(r.spf)}${r.spf.lookups !== undefined ? ` <span class="${r.spf.lookups > 10 ? 'over' : 'muted'}" title="DNS lookups counted against the limit of 10">(${r.spf.lookups}/10)</span>` : ''}</td>` +
    `<td>${dmarcCell(r.dmarc)}</td><td>${mxCell(r.mx)}</td><td>${dkimCell(r.dkim)}</td>` +
    (changes ? `<td class="num">${changes.length ? `<span class="${worse ? 'pill bad' : 'pill'}">${changes.length}</span>` : ''}</td>` : '') +
    '</tr>' +
    `<tr class="detail" hidden><td colspan="${changes ? 9 : 8}">` +
    (changes?.length ? `<h4>Changes since the last run</h4><ul class="changes">${changes.map((c) => changeItem(c, false)).join('')}</ul>` : '') +
    (findings.length ? `<h4>Findings</h4><ul class="findings">${findings.map(findingRow).join('')}</ul>` : '<p class="muted">No findings.</p>') +
    `<p class="muted small">Verdict at --fail-on ${failOn}; checked in ${r.ms} ms.</p>` +
    '</td></tr></tbody>\n'
  );
}

const STYLE = `
:root{--bg:#f6f7f9;--card:#fff;--ink:#1d2330;--muted:#6b7280;--line:#e3e6eb;--good:#177245;--good-bg:#e3f5ea;--bad:#b42318;--bad-bg:#fde8e6;--warn:#915b00;--warn-bg:#fff2d6;--dns:#5b4bb7;--dns-bg:#ece9fb}
@media (prefers-color-scheme:dark){:root{--bg:#14171c;--card:#1d2128;--ink:#e6e8eb;--muted:#9aa3af;--line:#2d333c;--good:#6fd69b;--good-bg:#15352448;--bad:#ff8a80;--bad-bg:#4a1f1c80;--warn:#ffc857;--warn-bg:#4a3a1280;--dns:#b7aaff;--dns-bg:#2e2a5080}}
*{box-sizing:border-box}body{margin:0;font:15px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;background:var(--bg);color:var(--ink)}
header,main{max-width:1400px;margin:0 auto;padding:16px 24px}h1{font-size:22px;margin:8px 0 4px}h2{font-size:17px;margin:24px 0 8px}h4{margin:8px 0 4px;font-size:14px}
.meta{color:var(--muted);font-size:13px}.cards{display:flex;flex-wrap:wrap;gap:12px;margin:16px 0}
.card{background:var(--card);border:1px solid var(--line);border-radius:10px;padding:10px 16px;min-width:120px}.card .n{font-size:26px;font-weight:650}.card .l{color:var(--muted);font-size:13px}
.card.good .n{color:var(--good)}.card.bad .n{color:var(--bad)}.card.dns .n{color:var(--dns)}.card.warn .n{color:var(--warn)}
.verdict{display:inline-block;border-radius:8px;padding:6px 12px;font-weight:600}.verdict.ok{background:var(--good-bg);color:var(--good)}.verdict.problems{background:var(--bad-bg);color:var(--bad)}.verdict.dns-unavailable{background:var(--dns-bg);color:var(--dns)}
.controls{display:flex;flex-wrap:wrap;gap:10px;align-items:center;margin:12px 0}.controls input[type=search]{min-width:min(440px,90vw);padding:7px 10px;border:1px solid var(--line);border-radius:8px;background:var(--card);color:var(--ink)}
.controls select{padding:7px;border:1px solid var(--line);border-radius:8px;background:var(--card);color:var(--ink)}
table{width:100%;border-collapse:collapse;background:var(--card);border:1px solid var(--line);border-radius:10px;overflow:hidden}
th,td{text-align:left;padding:7px 10px;border-bottom:1px solid var(--line);vertical-align:top}thead th{position:sticky;top:0;background:var(--card);z-index:1}
th button{all:unset;cursor:pointer;font-weight:600}th[aria-sort=ascending] button::after{content:" ▲"}th[aria-sort=descending] button::after{content:" ▼"}
td.num{text-align:right;font-variant-numeric:tabular-nums}tr.main:hover{background:color-mix(in srgb,var(--line) 40%,transparent)}
.toggle{border:0;background:none;color:var(--muted);cursor:pointer;font-size:14px;padding:0 4px}.toggle[aria-expanded=true]{transform:rotate(90deg)}
.domain{font-weight:600}tr.main td:first-child{white-space:nowrap}.pill{white-space:nowrap}.rec{display:inline-block;max-width:28ch;overflow:hidden;text-overflow:ellipsis;white-space:nowrap;vertical-align:bottom;font-family:ui-monospace,monospace;font-size:13px}
.pill{display:inline-block;border-radius:99px;padding:1px 9px;font-size:12.5px;font-weight:600;background:var(--line)}
.status-pass,.pill.good{background:var(--good-bg);color:var(--good)}.status-fail,.pill.bad{background:var(--bad-bg);color:var(--bad)}.status-dns-error,.pill.dns{background:var(--dns-bg);color:var(--dns)}
.policy-reject,.policy-quarantine{color:var(--good)}.policy-none{color:var(--warn)}.muted{color:var(--muted)}.over{color:var(--bad);font-weight:600}.small{font-size:12.5px}
ul.findings,ul.changes{list-style:none;margin:0;padding:0}li.finding,li.change{padding:6px 0;border-top:1px dashed var(--line)}li.finding:first-child,li.change:first-child{border-top:0}
.sev{display:inline-block;min-width:62px;font-weight:700;text-transform:uppercase;font-size:11.5px}.sev-error .sev{color:var(--bad)}.sev-warning .sev{color:var(--warn)}.sev-info .sev{color:var(--muted)}
.fix{margin:3px 0 0 66px;padding:4px 8px;border-left:3px solid var(--good);background:var(--good-bg);border-radius:4px}.rfc{margin-left:66px;color:var(--muted);font-size:12.5px}
.dir{display:inline-block;min-width:76px;font-weight:700;font-size:12.5px}.change.worse .dir{color:var(--bad)}.change.better .dir{color:var(--good)}.change.neutral .dir{color:var(--muted)}
section.panel{background:var(--card);border:1px solid var(--line);border-radius:10px;padding:12px 16px}code{font-size:13px}a{color:inherit}
:target>tr.main{outline:2px solid var(--dns)}
`;

const SCRIPT = `
(function () {
  var table = document.getElementById('domains');
  var q = document.getElementById('filter'), st = document.getElementById('status-filter'), shown = document.getElementById('shown');
  function bodies() { return Array.prototype.slice.call(table.tBodies); }
  function apply() {
    var text = q.value.trim().toLowerCase(), s = st.value, n = 0;
    bodies().forEach(function (b) {
      var ok = (!s || b.dataset.status === s || (s === 'problems' && b.dataset.status !== 'pass')) && (!text || b.dataset.search.indexOf(text) >= 0);
      b.hidden = !ok; if (ok) n++;
    });
    shown.textContent = String(n);
  }
  q.addEventListener('input', apply); st.addEventListener('change', apply);
  table.tHead.querySelectorAll('th[data-key]').forEach(function (th) {
    th.querySelector('button').addEventListener('click', function () {
      var key = th.dataset.key, num = th.dataset.type === 'num';
      var dir = th.getAttribute('aria-sort') === 'ascending' ? -1 : 1;
      table.tHead.querySelectorAll('th').forEach(function (o) { o.removeAttribute('aria-sort'); });
      th.setAttribute('aria-sort', dir === 1 ? 'ascending' : 'descending');
      var list = bodies();
      list.sort(function (a, b) {
        var x = a.dataset[key], y = b.dataset[key];
        var c = num ? Number(x) - Number(y) : x.localeCompare(y);
        return dir * (c || a.dataset.domain.localeCompare(b.dataset.domain));
      });
      var frag = document.createDocumentFragment();
      list.forEach(function (b) { frag.appendChild(b); });
      table.appendChild(frag);
    });
  });
  function open(tb, yes) {
    var d = tb.querySelector('tr.detail'), btn = tb.querySelector('button.toggle');
    d.hidden = !yes; btn.setAttribute('aria-expanded', String(yes));
  }
  table.addEventListener('click', function (e) {
    var btn = e.target.closest && e.target.closest('button.toggle');
    if (btn) { var tb = btn.closest('tbody'); open(tb, tb.querySelector('tr.detail').hidden); }
  });
  function openTarget() {
    var id = decodeURIComponent(location.hash.slice(1)), tb = id && document.getElementById(id);
    if (tb && tb.tagName === 'TBODY') { tb.hidden = false; open(tb, true); }
  }
  window.addEventListener('hashchange', openTarget);
  apply(); openTarget();
})();
`;

interface HtmlOptions {
  failOn: Severity;
  /** History is kept: show a Changes column and section (even when nothing changed). */
  history?: boolean;
  /** When the page was made (default now). */
  now?: Date;
}

export function htmlReporter(out: Writable, opts: HtmlOptions): Reporter {
  let dir = '';
  let spoolFile = '';
  let spool: WriteStream;
  const worse: string[] = [];
  const other: string[] = [];
  let changeCount = 0;
  const made = opts.now ?? new Date();
  return {
    async begin() {
      dir = mkdtempSync(path.join(tmpdir(), 'maildns-html-'));
      spoolFile = path.join(dir, 'rows.html');
      spool = createWriteStream(spoolFile);
    },
    async result(r, changes) {
      if (changes) {
        for (const c of changes) {
          changeCount++;
          const list = c.direction === 'worse' ? worse : other;
          if (list.length < TOP_CHANGES) list.push(changeItem(c, true));
        }
      }
      await write(spool, domainBody(r, opts.failOn, opts.history ? (changes ?? []) : undefined));
    },
    abort() {
      spool?.destroy();
      if (dir) rmSync(dir, { recursive: true, force: true });
    },
    async end(s: ReportSummary) {
      spool.end();
      await once(spool, 'finish');
      const verdict =
        s.outcome === 'ok'
          ? 'Every domain passed'
          : s.outcome === 'dns-unavailable'
            ? 'DNS could not be asked for any domain: nothing is known'
            : `${s.fail + s.dnsError} of ${s.domains} domain${s.domains === 1 ? '' : 's'} need${s.fail + s.dnsError === 1 ? 's' : ''} attention`;
      const scope = [
        s.shard ? `shard ${s.shard.index}/${s.shard.count}` : '',
        s.sources ? `merged from ${s.sources} report${s.sources === 1 ? '' : 's'}` : '',
        s.selectors?.length ? `DKIM selectors ${s.selectors.join(', ')}` : 'no DKIM selectors',
        `fails at ${s.failOn ?? opts.failOn}`,
        `${(s.ms / 1000).toFixed(1)} s`,
        s.queries ? `${s.queries.toLocaleString('en-US')} DNS queries` : '',
      ].filter(Boolean);
      const card = (n: number, label: string, cls = ''): string => `<div class="card ${cls}"><div class="n">${n.toLocaleString('en-US')}</div><div class="l">${label}</div></div>`;
      const changesSection = !opts.history
        ? ''
        : `<h2>Changes since the last run</h2><section class="panel" id="changes">` +
          (changeCount === 0
            ? '<p class="muted">Nothing changed since the last recorded run.</p>'
            : `<ul class="changes">${[...worse, ...other].join('')}</ul>` +
              (changeCount > worse.length + other.length ? `<p class="muted">and ${changeCount - worse.length - other.length} more: each domain's details list all of its changes.</p>` : '')) +
          '</section>';
      const th = (label: string, key: string, type = 'text', title = ''): string => `<th data-key="${key}" data-type="${type}"${title ? ` title="${esc(title)}"` : ''}><button type="button">${label}</button></th>`;
      await write(
        out,
        '<!doctype html>\n<html lang="en"><head><meta charset="utf-8">' +
          `<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'; img-src data:">` +
          '<meta name="viewport" content="width=device-width, initial-scale=1">' +
          `<title>maildns check: ${s.domains} domains, ${s.fail} fail, ${s.dnsError} DNS?</title><style>${STYLE}</style></head><body>\n` +
          `<header><h1>Email authentication report</h1><div class="meta">maildns check, ${esc(made.toISOString().replace('T', ' ').slice(0, 16))} UTC; ${esc(scope.join('; '))}</div>` +
          `<div class="cards">${card(s.domains, 'domains')}${card(s.pass, 'pass', 'good')}${card(s.fail, 'fail', s.fail ? 'bad' : '')}${card(s.dnsError, 'DNS failed', s.dnsError ? 'dns' : '')}${card(s.errors, 'errors', s.errors ? 'bad' : '')}${card(s.warnings, 'warnings', s.warnings ? 'warn' : '')}</div>` +
          `<div class="verdict ${s.outcome}" id="verdict">${esc(verdict)} (exit ${s.exitCode})</div></header>\n<main>${changesSection}\n` +
          '<h2>Domains</h2><div class="controls">' +
          '<input type="search" id="filter" placeholder="Filter by domain or finding code (e.g. spf.too-many-lookups)" aria-label="filter domains">' +
          '<select id="status-filter" aria-label="verdict"><option value="">every verdict</option><option value="problems">fail or DNS?</option><option value="fail">fail</option><option value="dns-error">DNS?</option><option value="pass">pass</option></select>' +
          `<span class="muted">showing <b id="shown">${s.domains}</b> of ${s.domains}</span></div>\n` +
          `<table id="domains"><thead><tr>${th('Domain', 'domain')}${th('Verdict', 'rank', 'num', 'problems first')}${th('Errors', 'errors', 'num')}${th('Warnings', 'warnings', 'num')}` +
          `<th>SPF</th><th>DMARC</th><th>MX</th><th>DKIM</th>${opts.history ? th('Changes', 'changes', 'num') : ''}</tr></thead>\n`,
      );
      for await (const chunk of createReadStream(spoolFile, { encoding: 'utf8' })) await write(out, chunk as string);
      await write(out, `</table>\n<p class="muted small">Click a column to sort, a domain's ▸ to see its findings and how to fix them.</p></main>\n<script>${SCRIPT}</script>\n</body></html>\n`);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
