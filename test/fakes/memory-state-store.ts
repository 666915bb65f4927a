// StateStore in memory with the file store's rules (no replacement of a stored identity), plus
// switches to simulate a corrupt file and a crash during save.
import { IdentityStoredError, StateError } from '../../agent/errors.ts';
import type { StateStore, StoredIdentity } from '../../agent/state-store.ts';

export class MemoryStateStore implements StateStore {
  saves = 0;
  isCorrupt = false;
  /** When set, the next save throws this before storing (a crash between handshake and store). */
  crashOnSave: Error | undefined;
  constructor(public state?: StoredIdentity) {}
  async load(): Promise<StoredIdentity | undefined> {
    if (this.isCorrupt)
      throw new StateError('/mem/state.json', 'not valid JSON (truncated or corrupt, 40 bytes)');
    return this.state;
  }
  async save(s: StoredIdentity): Promise<void> {
    if (this.crashOnSave) {
      const e = this.crashOnSave;
      this.crashOnSave = undefined;
      throw e;
    }
    if (this.state) throw new IdentityStoredError('/mem/state.json');
    this.saves++;
    this.state = s;
  }
}
