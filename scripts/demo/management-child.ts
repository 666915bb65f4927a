// Fallback for `npm run demo` while `enf-server start` has no --http-port yet (the management
// listener of server-stub/http is built but not wired into the start command): serves the same
// management API and dashboard (startManagementServer) over the same SQLite registry file as the
// running enf-server, as a second process. SQLite on disk is shared safely between processes
// (server-stub/registry). Usage: management-child.ts REGISTRY HOST PORT TOKEN_FILE
import { startManagementServer } from '../../server-stub/http/index.ts';
import { journalLogger } from '../../server-stub/log.ts';
import { SqliteRegistry } from '../../server-stub/registry/sqlite-registry.ts';

const [registryPath, host, port, tokenFile] = process.argv.slice(2);
if (!registryPath || !host || !port || !tokenFile) {
  process.stderr.write('usage: management-child.ts REGISTRY HOST PORT TOKEN_FILE\n');
  process.exit(2);
}
const registry = SqliteRegistry.open(registryPath);
const http = await startManagementServer({
  registry,
  logger: journalLogger(),
  host,
  port: Number(port),
  tokenFile,
});
process.stderr.write(`management.listening url=${http.url}\n`);
const stop = async () => {
  await http.close();
  await registry.close();
  process.exit(0);
};
process.once('SIGTERM', () => void stop());
process.once('SIGINT', () => void stop());
