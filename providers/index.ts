/** The registry of output providers. */
import { InputError } from '../src/errors.js';
import type { ComposedDomain } from '../src/plan/records.js';
import { jsonProvider } from './json.js';
import { mydnsProvider } from './mydns.js';
import { zoneProvider } from './zone.js';
import { auditRecord, type OutputProvider, type RenderOptions, type Rendered } from './types.js';

const providers: OutputProvider[] = [zoneProvider, mydnsProvider, jsonProvider];

export function providerNames(): string[] {
  return providers.map((p) => p.name);
}

export function getProvider(name: string): OutputProvider {
  const p = providers.find((x) => x.name === name);
  if (!p) throw new InputError(`unknown output format "${name}" (choose one of ${providerNames().join(', ')})`);
  return p;
}

/** Audit every record against the provider's limits, then render. */
export function renderWith(name: string, domains: readonly ComposedDomain[], opts: RenderOptions): Rendered {
  const provider = getProvider(name);
  const problems = domains.flatMap((d) => d.records.flatMap((r) => auditRecord(provider.limits, r)));
  const rendered = provider.render(domains, opts);
  return { text: rendered.text, warnings: [...problems, ...rendered.warnings] };
}
