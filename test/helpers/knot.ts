/**
 * A real authoritative server for integration tests: Knot DNS on 127.0.0.1. The launcher lives in
 * bench/knot.ts (the benchmark needs it too and cannot import from test/); this re-exports it.
 */
export { startKnot, type KnotServer } from '../../bench/knot.js';
