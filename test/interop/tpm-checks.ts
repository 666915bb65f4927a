import type { Check } from './interop-env.ts';
export const tpmChecks: Check[] = [];
