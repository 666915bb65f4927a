// A TCP port that was free a moment ago on `host` (default 127.0.0.1): the kernel picks one for a
// listener that is closed at once. Whoever binds it next may race another process; callers that
// start a server on it retry or wait for it to answer.
import { createServer } from 'node:net';

export function freePort(host = '127.0.0.1'): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, host, () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}
