// Rows a registry at schema version 8 (before CA names were per organization) may hold: two
// organizations, a network in each, a CA on each network with a CRL and a certificate device, as
// `?`-placeholder INSERTs both databases accept, so a test can fill an old registry, migrate it and
// check that nothing was lost and that each CA now belongs to its network's organization.
const b = (n: number, fill: number): Buffer => Buffer.alloc(n, fill);

export const V8_TABLES = ['cas', 'crls', 'crl_entries', 'cert_devices'] as const;

/** CA id -> the organization its network is in. */
export const V8_CA_ORGANIZATIONS: readonly [number, number][] = [
  [1, 1],
  [2, 2],
];

const ca = (id: number, name: string, fill: string, network: number) => ({
  sql: `INSERT INTO cas (id, name, fingerprint, der, subject, not_before, not_after, network_id,
                         max_devices, status, verified, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
  args: [
    id,
    name,
    fill.repeat(64),
    b(10, id),
    `CN=${name}`,
    0,
    9000,
    network,
    null,
    'active',
    true,
    4000 + id,
  ],
});

export const V8_ROWS: readonly { sql: string; args: unknown[] }[] = [
  { sql: 'INSERT INTO organizations (id, name, created_at) VALUES (?, ?, ?)', args: [2, 'acme', 500] },
  {
    sql: 'INSERT INTO networks (id, name, prefix, created_at, organization_id) VALUES (?, ?, ?, ?, ?)',
    args: [1, 'plant', b(8, 0x20), 1000, 1],
  },
  {
    sql: 'INSERT INTO networks (id, name, prefix, created_at, organization_id) VALUES (?, ?, ?, ?, ?)',
    args: [2, 'plant', b(8, 0x21), 1001, 2],
  },
  ca(1, 'ca-default', 'a', 1),
  ca(2, 'ca-acme', 'd', 2),
  {
    sql: 'INSERT INTO crls (ca_id, der, this_update, next_update, uploaded_at) VALUES (?, ?, ?, ?, ?)',
    args: [2, b(5, 6), 4100, null, 4200],
  },
  { sql: 'INSERT INTO crl_entries (ca_id, serial) VALUES (?, ?)', args: [2, '0A'] },
  {
    sql: `INSERT INTO cert_devices (id, ca_id, network_id, key_fingerprint, identity, subject, issuer, serial,
                                    cert_fingerprint, not_before, not_after, method, status, allow_rekey,
                                    first_enrolled_at, last_enrolled_at, enroll_count, last_source)
          VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    args: [
      1,
      2,
      2,
      'b'.repeat(64),
      b(16, 0x21),
      'CN=dev',
      'CN=ca-acme',
      '0B',
      'c'.repeat(64),
      0,
      9000,
      'tls-client-certificate',
      'active',
      false,
      5000,
      5000,
      1,
      null,
    ],
  },
];
