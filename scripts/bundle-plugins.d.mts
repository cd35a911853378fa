// Types of scripts/bundle-plugins.mjs, for the test that bundles with them (test/unit/bundle-plugins.test.ts).
import type { Plugin } from 'esbuild';

export declare const lazyStringWidth: Plugin;
export declare const lazyAssert: Plugin;
export declare const noFindUp: Plugin;
