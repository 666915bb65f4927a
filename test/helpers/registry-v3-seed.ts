// Rows a registry at schema version 3 (before organizations) may hold, one or two in every table, as
// `?`-placeholder INSERTs both databases accept, so a test can fill an old registry, migrate it and
// check that nothing was lost and everything now belongs to the default organization.
const b = (n: number, fill: number): Buffer => Buffer.alloc(n, fill);

export const V3_TABLES = [
  'networks',
  'batches',
  'devices',
  'audit',
  'cas',
  'crls',
  'crl_entries',
  'cert_devices',
] as const;

export const V3_ROWS: readonly { sql: string; args: unknown[] }[] = [
  {
    sql: 'INSERT INTO networks (id, name, prefix, created_at) VALUES (?, ?, ?, ?)',
    args: [1, 'plant-a', b(8, 0x20), 1000],
  },
  {
    sql: 'INSERT INTO networks (id, name, prefix, created_at) VALUES (?, ?, ?, ?)',
    args: [2, 'plant-b', b(8, 0x21), 1001],
  },
  {
    sql: `INSERT INTO batches (gid, gpk, basename, name, network_id, size, status, created_at)
          VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
    args: [b(32, 1), b(258, 4), b(3, 9), 'lot-1', 1, 10, 'active', 2000],
  },
  {
    sql: `INSERT INTO batches (gid, gpk, basename, name, network_id, size, status, created_at)
          VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
    args: [b(32, 2), b(258, 5), b(3, 9), 'lot-2', null, 5, 'revoked', 2001],
  },
  {
    sql: `INSERT INTO devices (gid, pseudonym, identity, longterm_public_key, status, allow_rekey,
                               first_handshake_at, last_handshake_at, handshake_count, last_source)
          VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    args: [b(32, 1), b(65, 4), b(16, 0x20), b(65, 4), 'active', true, 3000, 3500, 2, '::1 4000'],
  },
  {
    sql: `INSERT INTO audit (at, source_address, source_port, gid, pseudonym, suite, outcome, reason,
                             geolocation, identity) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    args: [3000, '::1', 4000, b(32, 1), b(65, 4), 1, 'provisioned', 'new-device', 'DE', b(16, 0x20)],
  },
  {
    sql: `INSERT INTO audit (at, source_address, source_port, gid, pseudonym, suite, outcome, reason,
                             geolocation, identity) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    args: [3100, '192.0.2.1', 1, null, null, null, 'failed', 'bad-request', null, null],
  },
  {
    sql: `INSERT INTO cas (id, name, fingerprint, der, subject, not_before, not_after, network_id,
                           max_devices, status, verified, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    args: [1, 'ca-1', 'a'.repeat(64), b(10, 3), 'CN=ca', 0, 9000, 2, 100, 'active', true, 4000],
  },
  {
    sql: 'INSERT INTO crls (ca_id, der, this_update, next_update, uploaded_at) VALUES (?, ?, ?, ?, ?)',
    args: [1, b(5, 6), 4100, null, 4200],
  },
  { sql: 'INSERT INTO crl_entries (ca_id, serial) VALUES (?, ?)', args: [1, '0a'] },
  {
    sql: `INSERT INTO cert_devices (id, ca_id, network_id, key_fingerprint, identity, subject, issuer, serial,
                                    cert_fingerprint, not_before, not_after, method, status, allow_rekey,
                                    first_enrolled_at, last_enrolled_at, enroll_count, last_source)
          VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    args: [
      1,
      1,
      2,
      'b'.repeat(64),
      b(16, 0x21),
      'CN=dev',
      'CN=ca',
      '0b',
      'c'.repeat(64),
      0,
      9000,
      'pki',
      'active',
      false,
      5000,
      5000,
      1,
      null,
    ],
  },
];

/** `?` placeholders as PostgreSQL's $1, $2, ... */
export const pgPlaceholders = (sql: string): string => {
  let n = 0;
  return sql.replace(/\?/g, () => `$${++n}`);
};

/** SQLite binds no booleans. */
export const sqliteArgs = (args: readonly unknown[]): unknown[] =>
  args.map((v) => (typeof v === 'boolean' ? (v ? 1 : 0) : v));

/** A row without the columns migration 4 added, with every value in a comparable form. */
export function comparable(row: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(row)) {
    if (k === 'organization_id') continue;
    out[k] = v instanceof Uint8Array ? Buffer.from(v).toString('hex') : v === null ? null : String(v);
  }
  return out;
}
