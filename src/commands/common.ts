/** Options and helpers shared by several commands. */
import type { Argv } from 'yargs';
import { DEFAULT_PLAN_FILE, loadPlan } from '../plan/load.js';
import type { Plan } from '../plan/types.js';

export function withPlanOption<T>(y: Argv<T>) {
  return y.option('plan', { type: 'string', default: DEFAULT_PLAN_FILE, describe: 'plan file (YAML or JSON)', normalize: true });
}

export function withJsonOption<T>(y: Argv<T>) {
  return y.option('json', { type: 'boolean', default: false, describe: 'print the result as JSON' });
}

export function withNameserverOption<T>(y: Argv<T>) {
  return y.option('nameserver', {
    type: 'string',
    describe: 'ask this DNS server (HOST[:PORT], comma-separated for several) instead of the system resolvers; also MAILDNS_NAMESERVER',
  });
}

export function readPlan(file: string): Plan {
  return loadPlan(file);
}
