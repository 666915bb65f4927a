#!/usr/bin/env node
// Launcher of `enf-server` (package.json "bin"): registers tsx, resolved from this package, then runs
// server-stub/main.ts. A `node --import=tsx` shebang resolves tsx from the working directory instead,
// so the command would only work from inside the repository.
import { register } from 'tsx/esm/api';

register();
await import('./main.ts');
