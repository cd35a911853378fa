/**
 * check --format html in a real browser: Debian's chromium, headless, driven by playwright-core.
 * The page is made by the CLI from the benchmark data served by Knot, with history kept over two
 * runs and a domain broken between them; it must load without console errors, hold every domain,
 * filter and sort, open a domain onto its findings, show the change, and load nothing from outside.
 */
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../../helpers/cli.js';
import { startKnot, type KnotServer } from '../../helpers/knot.js';

export { CHROMIUM } from '../../helpers/programs.js';
import { CHROMIUM } from '../../helpers/programs.js';
const CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];

interface Report {
  domains: { domain: string; status: string }[];
}

describe('the HTML report in headless chromium', () => {
  let knot: KnotServer | undefined;
  let browser: BrowserContext | undefined;
  let page: Page;
  let html: string;
  let whole: Report;
  const errors: string[] = [];
  const requests: string[] = [];
  const broken = 'd00001.example';

  beforeAll(async () => {
    // Fail at once, with the fix, rather than time out looking for a browser.
    if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} not found: apt-get install -y chromium (.ci/run installs it)`);
    const { generate } = await import('../../../bench/run.js');
    const dir = mkdtempSync(path.join(tmpdir(), 'maildns-html-'));
    generate(60, dir);
    const apexes = readFileSync(path.join(dir, 'zones.txt'), 'utf8').split('\n').filter(Boolean);
    knot = await startKnot({ dir: path.join(dir, 'zones'), apexes });
    const args = ['check', '--domains-file', path.join(dir, 'domains.txt'), '-s', 'mail', '--nameserver', `127.0.0.1:${knot.port}`, '--history', path.join(dir, 'h.db')];
    expect((await runCli(args)).code).toBe(1);
    // Break one domain between the runs: its DMARC record goes.
    const zoneFile = path.join(dir, 'zones', `${broken}.zone`);
    knot.updateZone(broken, readFileSync(zoneFile, 'utf8').split('\n').filter((l) => !l.startsWith('_dmarc')).join('\n'));
    html = path.join(dir, 'report.html');
    const made = await runCli([...args, '--format', 'html', '-o', html]);
    expect(made.code).toBe(1);
    expect(made.stdout).toBe('');
    whole = JSON.parse((await runCli(['check', '--domains-file', path.join(dir, 'domains.txt'), '-s', 'mail', '--nameserver', `127.0.0.1:${knot.port}`, '--json'])).stdout) as Report;

    // A fresh profile each run (playwright passes it as --user-data-dir).
    browser = await chromium.launchPersistentContext(mkdtempSync(path.join(tmpdir(), 'maildns-chromium-')), { executablePath: CHROMIUM, args: CHROMIUM_ARGS });
    page = await browser.newPage();
    page.on('console', (m) => {
      if (m.type() === 'error' || m.type() === 'warning') errors.push(`${m.type()}: ${m.text()}`);
    });
    page.on('pageerror', (e) => errors.push(`pageerror: ${e.message}`));
    page.on('request', (r) => requests.push(r.url()));
    await page.goto(`file://${html}`, { waitUntil: 'load' });
  }, 120_000);
  afterAll(async () => {
    await browser?.close();
    await knot?.stop();
  });

  const visible = (): Promise<string[]> => page.$$eval('#domains tbody:not([hidden])', (bs) => bs.map((b) => (b as HTMLElement).dataset['domain']!));

  it('loads without console errors and asks for nothing but itself', () => {
    expect(errors).toEqual([]);
    expect(requests).toEqual([`file://${html}`]);
    // Self-contained: no link, script or image from elsewhere.
    const text = readFileSync(html, 'utf8');
    expect(text).not.toMatch(/<(link|img|iframe)\b|<script[^>]+src=|url\(/i);
  });

  it('shows the summary and holds every domain in the table', async () => {
    const rows = await visible();
    expect(rows.sort()).toEqual(whole.domains.map((d) => d.domain).sort());
    expect(await page.textContent('#shown')).toBe('60');
    const failing = whole.domains.filter((d) => d.status === 'fail').length;
    expect(await page.textContent('#verdict')).toBe(`${failing} of 60 domains need attention (exit 1)`);
  });

  it('filters by verdict and by text', async () => {
    await page.selectOption('#status-filter', 'fail');
    expect((await visible()).sort()).toEqual(whole.domains.filter((d) => d.status === 'fail').map((d) => d.domain).sort());
    await page.selectOption('#status-filter', '');
    await page.fill('#filter', 'dmarc.no-record');
    const withCode = await visible();
    expect(withCode).toContain(broken);
    expect(await page.textContent('#shown')).toBe(String(withCode.length));
    await page.fill('#filter', 'd0000');
    expect((await visible()).sort()).toEqual(whole.domains.map((d) => d.domain).filter((d) => d.includes('d0000')).sort());
    await page.fill('#filter', '');
    expect(await visible()).toHaveLength(60);
  });

  it('sorts by a column, both ways', async () => {
    await page.click('th[data-key=domain] button');
    const up = await visible();
    expect(up).toEqual([...up].sort());
    await page.click('th[data-key=domain] button');
    expect(await visible()).toEqual([...up].reverse());
    await page.click('th[data-key=rank] button');
    const statuses = await page.$$eval('#domains tbody', (bs) => bs.map((b) => (b as HTMLElement).dataset['status']!));
    expect(statuses.indexOf('pass')).toBeGreaterThan(statuses.lastIndexOf('fail')); // problems first
  });

  it('opens a domain onto its findings and fixes, and lists the change since the last run', async () => {
    const body = page.locator(`tbody[data-domain="${broken}"]`);
    await expect.poll(() => body.locator('tr.detail').isHidden()).toBe(true);
    await body.locator('button.toggle').click();
    const detail = body.locator('tr.detail');
    expect(await detail.isVisible()).toBe(true);
    expect(await detail.textContent()).toMatch(/dmarc\.no-record.*Fix: publish _dmarc\.d00001\.example/s);
    expect(await page.textContent('#changes')).toMatch(new RegExp(`▲ worse ${broken.replace('.', '\\.')} new error: _dmarc\\.${broken.replace('.', '\\.')}: no DMARC record`));
    expect(errors).toEqual([]);
  });
});
