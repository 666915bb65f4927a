#!/usr/bin/env node
// Launcher of `xtt-factory` (package.json "bin"): registers tsx, resolved from this package, then runs
// factory/main.ts. `node --import=tsx` in a shebang resolves tsx from the working directory instead,
// so the command would only work from inside the repository.
import { register } from 'tsx/esm/api';

register();
await import('./main.ts');
