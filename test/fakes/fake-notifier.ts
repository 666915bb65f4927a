// Notifier that records what systemd would have received, in order.
import type { Notifier } from '../../agent/sd-notify.ts';

export class FakeNotifier implements Notifier {
  readonly sent: string[] = [];
  watchdog = false;
  ready(status?: string): void {
    this.sent.push(status === undefined ? 'READY=1' : `READY=1 STATUS=${status}`);
  }
  status(text: string): void {
    this.sent.push(`STATUS=${text}`);
  }
  stopping(): void {
    this.watchdog = false;
    this.sent.push('STOPPING=1');
  }
  startWatchdog(): void {
    this.watchdog = true;
  }
  stopWatchdog(): void {
    this.watchdog = false;
  }
  extendWatchdog(ms: number): void {
    this.watchdog = false;
    this.sent.push(`WATCHDOG_USEC=${ms * 1000}`);
  }
  get isReady(): boolean {
    return this.sent.some((s) => s.startsWith('READY=1'));
  }
}
