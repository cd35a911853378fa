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

/** Audit every record against the provider's limits, then render; an option the format does not take is refused. */
export function renderWith(name: string, domains: readonly ComposedDomain[], opts: RenderOptions): Rendered {
  const provider = getProvider(name);
  for (const [option, value] of Object.entries(opts) as [keyof RenderOptions, unknown][]) {
    if (value && !provider.options.includes(option)) {
      const takers = providers.filter((p) => p.options.includes(option)).map((p) => p.name);
      throw new InputError(`the ${name} format has no ${option} form; it goes with ${takers.join(' or ')}`);
    }
  }
  const problems = domains.flatMap((d) => d.records.flatMap((r) => auditRecord(provider.limits, r)));
  const rendered = provider.render(domains, opts);
  return { text: rendered.text, problems, warnings: rendered.warnings };
}
