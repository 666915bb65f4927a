// The registry's schema: one description of the tables, columns, keys and indexes both backends hold
// (SCHEMA, checked against each live database by the registry tests), and the versioned migrations
// that build it, in each dialect. Each migration runs once, in order, in one transaction that also
// records it in schema_migrations; a database newer than this program is refused, never guessed at.
// Append new migrations; never edit an applied one. Times are ms since the epoch in 64-bit integers.
import { RegistryError } from './errors.ts';

/** Column types as the rules see them; NATIVE_TYPES spells them per database. */
export type ColumnType = 'int' | 'bigint' | 'bytes' | 'text' | 'bool';

export const NATIVE_TYPES = {
  sqlite: { int: 'INTEGER', bigint: 'INTEGER', bytes: 'BLOB', text: 'TEXT', bool: 'INTEGER' },
  postgres: { int: 'integer', bigint: 'bigint', bytes: 'bytea', text: 'text', bool: 'boolean' },
} as const satisfies Record<'sqlite' | 'postgres', Record<ColumnType, string>>;

export interface ColumnSpec {
  name: string;
  type: ColumnType;
  nullable: boolean;
}

export interface TableSpec {
  name: string;
  columns: readonly ColumnSpec[];
  primaryKey: readonly string[];
  /** Column sets with a UNIQUE constraint (besides the primary key). */
  unique: readonly (readonly string[])[];
  foreignKeys: readonly { columns: readonly string[]; table: string; references: readonly string[] }[];
}

export interface IndexSpec {
  name: string;
  table: string;
  columns: readonly string[];
}

export interface SchemaSpec {
  tables: readonly TableSpec[];
  indexes: readonly IndexSpec[];
}

const col = (name: string, type: ColumnType, nullable = false): ColumnSpec => ({ name, type, nullable });

/** The schema after the last migration, identical on SQLite and PostgreSQL. */
export const SCHEMA: SchemaSpec = {
  tables: [
    {
      name: 'organizations',
      columns: [col('id', 'bigint'), col('name', 'text'), col('created_at', 'bigint')],
      primaryKey: ['id'],
      unique: [['name']],
      foreignKeys: [],
    },
    {
      name: 'networks',
      columns: [
        col('id', 'bigint'),
        col('name', 'text'),
        col('prefix', 'bytes'),
        col('created_at', 'bigint'),
        // migration 4: the owning organization; names are unique per organization, prefixes everywhere
        col('organization_id', 'bigint'),
      ],
      primaryKey: ['id'],
      unique: [['organization_id', 'name'], ['prefix']],
      foreignKeys: [{ columns: ['organization_id'], table: 'organizations', references: ['id'] }],
    },
    {
      name: 'batches',
      columns: [
        col('gid', 'bytes'),
        col('gpk', 'bytes'),
        col('basename', 'bytes'),
        col('name', 'text'),
        col('network_id', 'bigint', true),
        col('size', 'int'),
        col('status', 'text'),
        col('created_at', 'bigint'),
        // migration 4: the owning organization (the network's, when the batch has one)
        col('organization_id', 'bigint'),
      ],
      primaryKey: ['gid'],
      unique: [['organization_id', 'name']],
      foreignKeys: [
        { columns: ['network_id'], table: 'networks', references: ['id'] },
        { columns: ['organization_id'], table: 'organizations', references: ['id'] },
      ],
    },
    {
      name: 'devices',
      columns: [
        col('gid', 'bytes'),
        col('pseudonym', 'bytes'),
        col('identity', 'bytes'),
        col('longterm_public_key', 'bytes'),
        col('status', 'text'),
        col('allow_rekey', 'bool'),
        col('first_handshake_at', 'bigint'),
        col('last_handshake_at', 'bigint'),
        col('handshake_count', 'int'),
        col('last_source', 'text', true),
      ],
      primaryKey: ['gid', 'pseudonym'],
      unique: [['identity']],
      foreignKeys: [{ columns: ['gid'], table: 'batches', references: ['gid'] }],
    },
    {
      name: 'audit',
      columns: [
        col('id', 'bigint'),
        col('at', 'bigint'),
        col('source_address', 'text'),
        col('source_port', 'int'),
        col('gid', 'bytes', true),
        col('pseudonym', 'bytes', true),
        col('suite', 'int', true),
        col('outcome', 'text'),
        col('reason', 'text'),
        col('geolocation', 'text', true),
        col('identity', 'bytes', true),
        // PKI enrollment rows (migration 3): method 'pki'; NULL for XTT handshakes
        col('method', 'text', true),
        col('ca_id', 'bigint', true),
        col('cert_subject', 'text', true),
        col('cert_serial', 'text', true),
        col('cert_fingerprint', 'text', true),
        col('key_fingerprint', 'text', true),
      ],
      primaryKey: ['id'],
      unique: [],
      foreignKeys: [],
    },
    {
      name: 'cas',
      columns: [
        col('id', 'bigint'),
        col('name', 'text'),
        col('fingerprint', 'text'),
        col('der', 'bytes'),
        col('subject', 'text'),
        col('not_before', 'bigint'),
        col('not_after', 'bigint'),
        col('network_id', 'bigint'),
        col('max_devices', 'int', true),
        col('status', 'text'),
        col('verified', 'bool'),
        col('created_at', 'bigint'),
        col('organization_id', 'bigint'),
      ],
      primaryKey: ['id'],
      unique: [['organization_id', 'name'], ['fingerprint']],
      foreignKeys: [
        { columns: ['network_id'], table: 'networks', references: ['id'] },
        { columns: ['organization_id'], table: 'organizations', references: ['id'] },
      ],
    },
    {
      name: 'crls',
      columns: [
        col('ca_id', 'bigint'),
        col('der', 'bytes'),
        col('this_update', 'bigint'),
        col('next_update', 'bigint', true),
        col('uploaded_at', 'bigint'),
      ],
      primaryKey: ['ca_id'],
      unique: [],
      foreignKeys: [{ columns: ['ca_id'], table: 'cas', references: ['id'] }],
    },
    {
      name: 'crl_entries',
      columns: [col('ca_id', 'bigint'), col('serial', 'text')],
      primaryKey: ['ca_id', 'serial'],
      unique: [],
      foreignKeys: [{ columns: ['ca_id'], table: 'cas', references: ['id'] }],
    },
    {
      name: 'cert_devices',
      columns: [
        col('id', 'bigint'),
        col('ca_id', 'bigint'),
        col('network_id', 'bigint'),
        col('key_fingerprint', 'text'),
        col('identity', 'bytes'),
        col('subject', 'text'),
        col('issuer', 'text'),
        col('serial', 'text'),
        col('cert_fingerprint', 'text'),
        col('not_before', 'bigint'),
        col('not_after', 'bigint'),
        col('method', 'text'),
        col('status', 'text'),
        col('allow_rekey', 'bool'),
        col('first_enrolled_at', 'bigint'),
        col('last_enrolled_at', 'bigint'),
        col('enroll_count', 'int'),
        col('last_source', 'text', true),
      ],
      primaryKey: ['id'],
      unique: [['identity'], ['network_id', 'key_fingerprint']],
      foreignKeys: [
        { columns: ['network_id'], table: 'networks', references: ['id'] },
        { columns: ['ca_id'], table: 'cas', references: ['id'] },
      ],
    },
    {
      // migration 5: what operators did (operator-audit.ts), append-only like the audit
      name: 'operator_audit',
      columns: [
        col('id', 'bigint'),
        col('at', 'bigint'),
        col('organization_id', 'bigint', true),
        col('actor', 'text'),
        col('action', 'text'),
        col('object_type', 'text'),
        col('object_id', 'text'),
        col('object_name', 'text', true),
        col('source', 'text'),
        col('detail', 'text', true),
      ],
      primaryKey: ['id'],
      unique: [],
      foreignKeys: [{ columns: ['organization_id'], table: 'organizations', references: ['id'] }],
    },
    {
      name: 'users',
      columns: [
        col('id', 'bigint'),
        col('name', 'text'),
        // NULL for superadmins (server-wide)
        col('organization_id', 'bigint', true),
        col('role', 'text'),
        // scrypt with its parameters and salt (password.ts), never the password
        col('password_hash', 'text'),
        col('disabled', 'bool'),
        col('created_at', 'bigint'),
        col('password_changed_at', 'bigint'),
      ],
      primaryKey: ['id'],
      unique: [['name']],
      foreignKeys: [{ columns: ['organization_id'], table: 'organizations', references: ['id'] }],
    },
    {
      name: 'sessions',
      columns: [
        // SHA-256 of the cookie's secret: a copy of the registry signs nobody in
        col('digest', 'bytes'),
        col('user_id', 'bigint'),
        col('created_at', 'bigint'),
        col('last_seen_at', 'bigint'),
      ],
      primaryKey: ['digest'],
      unique: [],
      foreignKeys: [{ columns: ['user_id'], table: 'users', references: ['id'] }],
    },
    {
      name: 'api_tokens',
      columns: [
        col('id', 'bigint'),
        col('name', 'text'),
        col('organization_id', 'bigint', true),
        // the user it acts for; NULL: the organization's own token (made by an admin)
        col('user_id', 'bigint', true),
        col('role', 'text'),
        // SHA-256 of the token
        col('digest', 'bytes'),
        col('created_by', 'text'),
        col('created_at', 'bigint'),
        col('expires_at', 'bigint', true),
        col('last_used_at', 'bigint', true),
        col('revoked_at', 'bigint', true),
      ],
      primaryKey: ['id'],
      unique: [['organization_id', 'name'], ['digest']],
      foreignKeys: [
        { columns: ['organization_id'], table: 'organizations', references: ['id'] },
        { columns: ['user_id'], table: 'users', references: ['id'] },
      ],
    },
    {
      // Failed sign-ins (http/login-throttle.ts), shared by every process on the registry
      name: 'login_failures',
      columns: [
        // 'account' (the name tried) or 'source' (an IPv4 address or IPv6 /64)
        col('kind', 'text'),
        col('name', 'text'),
        col('failures', 'bigint'),
        col('last_at', 'bigint'),
      ],
      primaryKey: ['kind', 'name'],
      unique: [],
      foreignKeys: [],
    },
    {
      // (account, source) pairs that signed in: the account's delay does not hold them back
      name: 'login_trust',
      columns: [col('account', 'text'), col('source', 'text'), col('trusted_until', 'bigint')],
      primaryKey: ['account', 'source'],
      unique: [],
      foreignKeys: [],
    },
  ],
  indexes: [
    { name: 'audit_at', table: 'audit', columns: ['at'] },
    // pruning of old sign-in failures and trusted pairs
    { name: 'login_failures_last', table: 'login_failures', columns: ['last_at'] },
    { name: 'login_trust_until', table: 'login_trust', columns: ['trusted_until'] },
    // An organization's operator audit, newest first (paging by id).
    { name: 'operator_audit_org', table: 'operator_audit', columns: ['organization_id', 'id'] },
    // Audit by batch, or by device, newest first (the management API's device history and paging).
    { name: 'audit_gid', table: 'audit', columns: ['gid', 'pseudonym', 'id'] },
    { name: 'batches_network', table: 'batches', columns: ['network_id'] },
    { name: 'devices_first', table: 'devices', columns: ['first_handshake_at', 'identity'] },
    // migration 7: a batch's devices in list order; an organization's device page merges its batches'
    { name: 'devices_gid_first', table: 'devices', columns: ['gid', 'first_handshake_at', 'identity'] },
    { name: 'cas_network', table: 'cas', columns: ['network_id'] },
    // allow-rekey looks a device up by CA and subject
    { name: 'cert_devices_ca', table: 'cert_devices', columns: ['ca_id', 'subject'] },
    // a user's sessions end together (disable, new password)
    { name: 'sessions_user', table: 'sessions', columns: ['user_id'] },
  ],
};

/** The organization every registry has; what existed before organizations belongs to it. */
export const DEFAULT_ORGANIZATION_ID = 1;
export const DEFAULT_ORGANIZATION_NAME = 'default';

export interface Migration {
  version: number;
  name: string;
  /** The statements per database ('' when a database needs none). */
  sqlite: string;
  postgres: string;
}

export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    name: 'networks, batches, devices, append-only audit',
    sqlite: `
      CREATE TABLE networks (
        id INTEGER PRIMARY KEY,
        name TEXT NOT NULL UNIQUE,
        prefix BLOB NOT NULL UNIQUE CHECK (length(prefix) = 8),
        created_at INTEGER NOT NULL
      ) STRICT;
      CREATE TABLE batches (
        gid BLOB PRIMARY KEY CHECK (length(gid) = 32),
        gpk BLOB NOT NULL CHECK (length(gpk) = 258),
        basename BLOB NOT NULL CHECK (length(basename) BETWEEN 1 AND 256),
        name TEXT NOT NULL UNIQUE,
        network_id INTEGER REFERENCES networks(id),
        size INTEGER NOT NULL CHECK (size > 0),
        status TEXT NOT NULL CHECK (status IN ('active', 'revoked')),
        created_at INTEGER NOT NULL
      ) STRICT;
      CREATE TABLE devices (
        gid BLOB NOT NULL REFERENCES batches(gid),
        pseudonym BLOB NOT NULL CHECK (length(pseudonym) = 65),
        identity BLOB NOT NULL UNIQUE CHECK (length(identity) = 16),
        longterm_public_key BLOB NOT NULL CHECK (length(longterm_public_key) = 65),
        status TEXT NOT NULL CHECK (status IN ('active', 'revoked')),
        allow_rekey INTEGER NOT NULL DEFAULT 0 CHECK (allow_rekey IN (0, 1)),
        first_handshake_at INTEGER NOT NULL,
        last_handshake_at INTEGER NOT NULL,
        handshake_count INTEGER NOT NULL CHECK (handshake_count >= 1),
        last_source TEXT,
        PRIMARY KEY (gid, pseudonym)
      ) STRICT;
      CREATE TABLE audit (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        at INTEGER NOT NULL,
        source_address TEXT NOT NULL,
        source_port INTEGER NOT NULL CHECK (source_port BETWEEN 0 AND 65535),
        gid BLOB CHECK (gid IS NULL OR length(gid) = 32),
        pseudonym BLOB CHECK (pseudonym IS NULL OR length(pseudonym) = 65),
        suite INTEGER,
        outcome TEXT NOT NULL CHECK (outcome IN ('provisioned', 'refused', 'failed')),
        reason TEXT NOT NULL,
        geolocation TEXT,
        identity BLOB CHECK (identity IS NULL OR length(identity) = 16)
      ) STRICT;
      CREATE INDEX audit_at ON audit(at);
      CREATE INDEX audit_gid ON audit(gid, at);
      CREATE TRIGGER audit_no_update BEFORE UPDATE ON audit
        BEGIN SELECT RAISE(ABORT, 'audit is append-only'); END;
      CREATE TRIGGER audit_no_delete BEFORE DELETE ON audit
        BEGIN SELECT RAISE(ABORT, 'audit is append-only'); END;
    `,
    postgres: `
      CREATE TABLE networks (
        id bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
        name text NOT NULL UNIQUE,
        prefix bytea NOT NULL UNIQUE CHECK (length(prefix) = 8),
        created_at bigint NOT NULL
      );
      CREATE TABLE batches (
        gid bytea PRIMARY KEY CHECK (length(gid) = 32),
        gpk bytea NOT NULL CHECK (length(gpk) = 258),
        basename bytea NOT NULL CHECK (length(basename) BETWEEN 1 AND 256),
        name text NOT NULL UNIQUE,
        network_id bigint REFERENCES networks(id),
        size integer NOT NULL CHECK (size > 0),
        status text NOT NULL CHECK (status IN ('active', 'revoked')),
        created_at bigint NOT NULL
      );
      CREATE INDEX batches_network ON batches(network_id);
      CREATE TABLE devices (
        gid bytea NOT NULL REFERENCES batches(gid),
        pseudonym bytea NOT NULL CHECK (length(pseudonym) = 65),
        identity bytea NOT NULL UNIQUE CHECK (length(identity) = 16),
        longterm_public_key bytea NOT NULL CHECK (length(longterm_public_key) = 65),
        status text NOT NULL CHECK (status IN ('active', 'revoked')),
        allow_rekey boolean NOT NULL DEFAULT false,
        first_handshake_at bigint NOT NULL,
        last_handshake_at bigint NOT NULL,
        handshake_count integer NOT NULL CHECK (handshake_count >= 1),
        last_source text,
        PRIMARY KEY (gid, pseudonym)
      );
      CREATE INDEX devices_first ON devices(first_handshake_at, identity);
      CREATE TABLE audit (
        id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        at bigint NOT NULL,
        source_address text NOT NULL,
        source_port integer NOT NULL CHECK (source_port BETWEEN 0 AND 65535),
        gid bytea CHECK (gid IS NULL OR length(gid) = 32),
        pseudonym bytea CHECK (pseudonym IS NULL OR length(pseudonym) = 65),
        suite integer,
        outcome text NOT NULL CHECK (outcome IN ('provisioned', 'refused', 'failed')),
        reason text NOT NULL,
        geolocation text,
        identity bytea CHECK (identity IS NULL OR length(identity) = 16)
      );
      CREATE INDEX audit_at ON audit(at);
      CREATE INDEX audit_gid ON audit(gid, pseudonym, id);
      CREATE FUNCTION audit_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN RAISE EXCEPTION 'audit is append-only'; END $$;
      CREATE TRIGGER audit_no_change BEFORE UPDATE OR DELETE ON audit
        FOR EACH ROW EXECUTE FUNCTION audit_append_only();
      CREATE TRIGGER audit_no_truncate BEFORE TRUNCATE ON audit
        FOR EACH STATEMENT EXECUTE FUNCTION audit_append_only();
    `,
  },
  {
    version: 2,
    name: 'the same indexes on SQLite as on PostgreSQL',
    sqlite: `
      DROP INDEX audit_gid;
      CREATE INDEX audit_gid ON audit(gid, pseudonym, id);
      CREATE INDEX batches_network ON batches(network_id);
      CREATE INDEX devices_first ON devices(first_handshake_at, identity);
    `,
    postgres: '',
  },
  {
    version: 3,
    name: 'PKI enrollment: CAs, CRLs, certificate devices, PKI columns in the audit',
    sqlite: `
      CREATE TABLE cas (
        id INTEGER PRIMARY KEY,
        name TEXT NOT NULL UNIQUE,
        fingerprint TEXT NOT NULL UNIQUE CHECK (length(fingerprint) = 64),
        der BLOB NOT NULL,
        subject TEXT NOT NULL,
        not_before INTEGER NOT NULL,
        not_after INTEGER NOT NULL,
        network_id INTEGER NOT NULL REFERENCES networks(id),
        max_devices INTEGER CHECK (max_devices IS NULL OR max_devices > 0),
        status TEXT NOT NULL CHECK (status IN ('active', 'revoked')),
        verified INTEGER NOT NULL CHECK (verified IN (0, 1)),
        created_at INTEGER NOT NULL
      ) STRICT;
      CREATE INDEX cas_network ON cas(network_id);
      CREATE TABLE crls (
        ca_id INTEGER PRIMARY KEY REFERENCES cas(id),
        der BLOB NOT NULL,
        this_update INTEGER NOT NULL,
        next_update INTEGER,
        uploaded_at INTEGER NOT NULL
      ) STRICT;
      CREATE TABLE crl_entries (
        ca_id INTEGER NOT NULL REFERENCES cas(id),
        serial TEXT NOT NULL,
        PRIMARY KEY (ca_id, serial)
      ) STRICT;
      CREATE TABLE cert_devices (
        id INTEGER PRIMARY KEY,
        ca_id INTEGER NOT NULL REFERENCES cas(id),
        network_id INTEGER NOT NULL REFERENCES networks(id),
        key_fingerprint TEXT NOT NULL CHECK (length(key_fingerprint) = 64),
        identity BLOB NOT NULL UNIQUE CHECK (length(identity) = 16),
        subject TEXT NOT NULL,
        issuer TEXT NOT NULL,
        serial TEXT NOT NULL,
        cert_fingerprint TEXT NOT NULL,
        not_before INTEGER NOT NULL,
        not_after INTEGER NOT NULL,
        method TEXT NOT NULL,
        status TEXT NOT NULL CHECK (status IN ('active', 'revoked')),
        allow_rekey INTEGER NOT NULL CHECK (allow_rekey IN (0, 1)),
        first_enrolled_at INTEGER NOT NULL,
        last_enrolled_at INTEGER NOT NULL,
        enroll_count INTEGER NOT NULL CHECK (enroll_count >= 1),
        last_source TEXT,
        UNIQUE (network_id, key_fingerprint)
      ) STRICT;
      CREATE INDEX cert_devices_ca ON cert_devices(ca_id, subject);
      ALTER TABLE audit ADD COLUMN method TEXT;
      ALTER TABLE audit ADD COLUMN ca_id INTEGER;
      ALTER TABLE audit ADD COLUMN cert_subject TEXT;
      ALTER TABLE audit ADD COLUMN cert_serial TEXT;
      ALTER TABLE audit ADD COLUMN cert_fingerprint TEXT;
      ALTER TABLE audit ADD COLUMN key_fingerprint TEXT;
    `,
    postgres: `
      CREATE TABLE cas (
        id bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
        name text NOT NULL UNIQUE,
        fingerprint text NOT NULL UNIQUE CHECK (length(fingerprint) = 64),
        der bytea NOT NULL,
        subject text NOT NULL,
        not_before bigint NOT NULL,
        not_after bigint NOT NULL,
        network_id bigint NOT NULL REFERENCES networks(id),
        max_devices integer CHECK (max_devices IS NULL OR max_devices > 0),
        status text NOT NULL CHECK (status IN ('active', 'revoked')),
        verified boolean NOT NULL,
        created_at bigint NOT NULL
      );
      CREATE INDEX cas_network ON cas(network_id);
      CREATE TABLE crls (
        ca_id bigint PRIMARY KEY REFERENCES cas(id),
        der bytea NOT NULL,
        this_update bigint NOT NULL,
        next_update bigint,
        uploaded_at bigint NOT NULL
      );
      CREATE TABLE crl_entries (
        ca_id bigint NOT NULL REFERENCES cas(id),
        serial text NOT NULL,
        PRIMARY KEY (ca_id, serial)
      );
      CREATE TABLE cert_devices (
        id bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
        ca_id bigint NOT NULL REFERENCES cas(id),
        network_id bigint NOT NULL REFERENCES networks(id),
        key_fingerprint text NOT NULL CHECK (length(key_fingerprint) = 64),
        identity bytea NOT NULL UNIQUE CHECK (length(identity) = 16),
        subject text NOT NULL,
        issuer text NOT NULL,
        serial text NOT NULL,
        cert_fingerprint text NOT NULL,
        not_before bigint NOT NULL,
        not_after bigint NOT NULL,
        method text NOT NULL,
        status text NOT NULL CHECK (status IN ('active', 'revoked')),
        allow_rekey boolean NOT NULL,
        first_enrolled_at bigint NOT NULL,
        last_enrolled_at bigint NOT NULL,
        enroll_count integer NOT NULL CHECK (enroll_count >= 1),
        last_source text,
        UNIQUE (network_id, key_fingerprint)
      );
      CREATE INDEX cert_devices_ca ON cert_devices(ca_id, subject);
      ALTER TABLE audit ADD COLUMN method text;
      ALTER TABLE audit ADD COLUMN ca_id bigint;
      ALTER TABLE audit ADD COLUMN cert_subject text;
      ALTER TABLE audit ADD COLUMN cert_serial text;
      ALTER TABLE audit ADD COLUMN cert_fingerprint text;
      ALTER TABLE audit ADD COLUMN key_fingerprint text;
    `,
  },
  {
    version: 4,
    name: 'organizations: networks and batches belong to one; names unique per organization',
    // SQLite cannot change a table's constraints in place: networks and batches are copied aside,
    // recreated and refilled. Foreign keys stay on but deferred to the COMMIT, so the rows refilled
    // into the new parent tables satisfy the batches, devices, CAs and certificate devices that
    // refer to them (the COMMIT fails, and nothing changes, if any reference were left dangling).
    sqlite: `
      PRAGMA defer_foreign_keys = ON;
      CREATE TABLE organizations (
        id INTEGER PRIMARY KEY,
        name TEXT NOT NULL UNIQUE,
        created_at INTEGER NOT NULL
      ) STRICT;
      INSERT INTO organizations (id, name, created_at)
        VALUES (1, 'default', CAST(strftime('%s', 'now') AS INTEGER) * 1000);
      CREATE TEMP TABLE networks_v3 AS SELECT * FROM networks;
      CREATE TEMP TABLE batches_v3 AS SELECT * FROM batches;
      DROP TABLE batches;
      DROP TABLE networks;
      CREATE TABLE networks (
        id INTEGER PRIMARY KEY,
        name TEXT NOT NULL,
        prefix BLOB NOT NULL UNIQUE CHECK (length(prefix) = 8),
        created_at INTEGER NOT NULL,
        organization_id INTEGER NOT NULL REFERENCES organizations(id),
        UNIQUE (organization_id, name)
      ) STRICT;
      CREATE TABLE batches (
        gid BLOB PRIMARY KEY CHECK (length(gid) = 32),
        gpk BLOB NOT NULL CHECK (length(gpk) = 258),
        basename BLOB NOT NULL CHECK (length(basename) BETWEEN 1 AND 256),
        name TEXT NOT NULL,
        network_id INTEGER REFERENCES networks(id),
        size INTEGER NOT NULL CHECK (size > 0),
        status TEXT NOT NULL CHECK (status IN ('active', 'revoked')),
        created_at INTEGER NOT NULL,
        organization_id INTEGER NOT NULL REFERENCES organizations(id),
        UNIQUE (organization_id, name)
      ) STRICT;
      INSERT INTO networks (id, name, prefix, created_at, organization_id)
        SELECT id, name, prefix, created_at, 1 FROM networks_v3;
      INSERT INTO batches (gid, gpk, basename, name, network_id, size, status, created_at, organization_id)
        SELECT gid, gpk, basename, name, network_id, size, status, created_at, 1 FROM batches_v3;
      DROP TABLE networks_v3;
      DROP TABLE batches_v3;
      CREATE INDEX batches_network ON batches(network_id);
    `,
    postgres: `
      CREATE TABLE organizations (
        id bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
        name text NOT NULL UNIQUE,
        created_at bigint NOT NULL
      );
      INSERT INTO organizations (name, created_at)
        VALUES ('default', (extract(epoch FROM now()) * 1000)::bigint);
      ALTER TABLE networks ADD COLUMN organization_id bigint NOT NULL DEFAULT 1 REFERENCES organizations(id);
      ALTER TABLE networks ALTER COLUMN organization_id DROP DEFAULT;
      ALTER TABLE networks DROP CONSTRAINT networks_name_key;
      ALTER TABLE networks ADD UNIQUE (organization_id, name);
      ALTER TABLE batches ADD COLUMN organization_id bigint NOT NULL DEFAULT 1 REFERENCES organizations(id);
      ALTER TABLE batches ALTER COLUMN organization_id DROP DEFAULT;
      ALTER TABLE batches DROP CONSTRAINT batches_name_key;
      ALTER TABLE batches ADD UNIQUE (organization_id, name);
    `,
  },
  {
    version: 5,
    name: 'operator audit: who changed what, from where, append-only',
    sqlite: `
      CREATE TABLE operator_audit (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        at INTEGER NOT NULL,
        organization_id INTEGER REFERENCES organizations(id),
        actor TEXT NOT NULL,
        action TEXT NOT NULL,
        object_type TEXT NOT NULL
          CHECK (object_type IN ('organization', 'network', 'batch', 'device', 'ca', 'user', 'token')),
        object_id TEXT NOT NULL,
        object_name TEXT,
        source TEXT NOT NULL,
        detail TEXT
      ) STRICT;
      CREATE INDEX operator_audit_org ON operator_audit(organization_id, id);
      CREATE TRIGGER operator_audit_no_update BEFORE UPDATE ON operator_audit
        BEGIN SELECT RAISE(ABORT, 'operator_audit is append-only'); END;
      CREATE TRIGGER operator_audit_no_delete BEFORE DELETE ON operator_audit
        BEGIN SELECT RAISE(ABORT, 'operator_audit is append-only'); END;
    `,
    postgres: `
      CREATE TABLE operator_audit (
        id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        at bigint NOT NULL,
        organization_id bigint REFERENCES organizations(id),
        actor text NOT NULL,
        action text NOT NULL,
        object_type text NOT NULL
          CHECK (object_type IN ('organization', 'network', 'batch', 'device', 'ca', 'user', 'token')),
        object_id text NOT NULL,
        object_name text,
        source text NOT NULL,
        detail text
      );
      CREATE INDEX operator_audit_org ON operator_audit(organization_id, id);
      CREATE TRIGGER operator_audit_no_change BEFORE UPDATE OR DELETE ON operator_audit
        FOR EACH ROW EXECUTE FUNCTION audit_append_only();
      CREATE TRIGGER operator_audit_no_truncate BEFORE TRUNCATE ON operator_audit
        FOR EACH STATEMENT EXECUTE FUNCTION audit_append_only();
    `,
  },
  {
    version: 6,
    name: 'users, their sessions, named API tokens',
    sqlite: `
      CREATE TABLE users (
        id INTEGER PRIMARY KEY,
        name TEXT NOT NULL UNIQUE,
        organization_id INTEGER REFERENCES organizations(id),
        role TEXT NOT NULL CHECK (role IN ('viewer', 'operator', 'admin', 'superadmin')),
        password_hash TEXT NOT NULL,
        disabled INTEGER NOT NULL CHECK (disabled IN (0, 1)),
        created_at INTEGER NOT NULL,
        password_changed_at INTEGER NOT NULL,
        CHECK ((role = 'superadmin') = (organization_id IS NULL))
      ) STRICT;
      CREATE TABLE sessions (
        digest BLOB PRIMARY KEY CHECK (length(digest) = 32),
        user_id INTEGER NOT NULL REFERENCES users(id),
        created_at INTEGER NOT NULL,
        last_seen_at INTEGER NOT NULL
      ) STRICT;
      CREATE INDEX sessions_user ON sessions(user_id);
      CREATE TABLE api_tokens (
        id INTEGER PRIMARY KEY,
        name TEXT NOT NULL,
        organization_id INTEGER REFERENCES organizations(id),
        user_id INTEGER REFERENCES users(id),
        role TEXT NOT NULL CHECK (role IN ('viewer', 'operator', 'admin', 'superadmin')),
        digest BLOB NOT NULL UNIQUE CHECK (length(digest) = 32),
        created_by TEXT NOT NULL,
        created_at INTEGER NOT NULL,
        expires_at INTEGER,
        last_used_at INTEGER,
        revoked_at INTEGER,
        UNIQUE (organization_id, name),
        CHECK ((role = 'superadmin') = (organization_id IS NULL))
      ) STRICT;
    `,
    postgres: `
      CREATE TABLE users (
        id bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
        name text NOT NULL UNIQUE,
        organization_id bigint REFERENCES organizations(id),
        role text NOT NULL CHECK (role IN ('viewer', 'operator', 'admin', 'superadmin')),
        password_hash text NOT NULL,
        disabled boolean NOT NULL,
        created_at bigint NOT NULL,
        password_changed_at bigint NOT NULL,
        CHECK ((role = 'superadmin') = (organization_id IS NULL))
      );
      CREATE TABLE sessions (
        digest bytea PRIMARY KEY CHECK (length(digest) = 32),
        user_id bigint NOT NULL REFERENCES users(id),
        created_at bigint NOT NULL,
        last_seen_at bigint NOT NULL
      );
      CREATE INDEX sessions_user ON sessions(user_id);
      CREATE TABLE api_tokens (
        id bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
        name text NOT NULL,
        organization_id bigint REFERENCES organizations(id),
        user_id bigint REFERENCES users(id),
        role text NOT NULL CHECK (role IN ('viewer', 'operator', 'admin', 'superadmin')),
        digest bytea NOT NULL UNIQUE CHECK (length(digest) = 32),
        created_by text NOT NULL,
        created_at bigint NOT NULL,
        expires_at bigint,
        last_used_at bigint,
        revoked_at bigint,
        UNIQUE (organization_id, name),
        CHECK ((role = 'superadmin') = (organization_id IS NULL))
      );
    `,
  },
  {
    version: 7,
    name: 'device list paging: devices of a batch in list order',
    sqlite: `
      CREATE INDEX devices_gid_first ON devices(gid, first_handshake_at, identity);
    `,
    postgres: `
      CREATE INDEX devices_gid_first ON devices(gid, first_handshake_at, identity);
    `,
  },
  {
    version: 8,
    name: 'failed sign-in throttle shared by every process',
    sqlite: `
      CREATE TABLE login_failures (
        kind TEXT NOT NULL CHECK (kind IN ('account', 'source')),
        name TEXT NOT NULL CHECK (length(name) <= 256),
        failures INTEGER NOT NULL CHECK (failures > 0),
        last_at INTEGER NOT NULL,
        PRIMARY KEY (kind, name)
      ) STRICT;
      CREATE INDEX login_failures_last ON login_failures(last_at);
      CREATE TABLE login_trust (
        account TEXT NOT NULL CHECK (length(account) <= 256),
        source TEXT NOT NULL CHECK (length(source) <= 256),
        trusted_until INTEGER NOT NULL,
        PRIMARY KEY (account, source)
      ) STRICT;
      CREATE INDEX login_trust_until ON login_trust(trusted_until);
    `,
    postgres: `
      CREATE TABLE login_failures (
        kind text NOT NULL CHECK (kind IN ('account', 'source')),
        name text NOT NULL CHECK (length(name) <= 256),
        failures bigint NOT NULL CHECK (failures > 0),
        last_at bigint NOT NULL,
        PRIMARY KEY (kind, name)
      );
      CREATE INDEX login_failures_last ON login_failures(last_at);
      CREATE TABLE login_trust (
        account text NOT NULL CHECK (length(account) <= 256),
        source text NOT NULL CHECK (length(source) <= 256),
        trusted_until bigint NOT NULL,
        PRIMARY KEY (account, source)
      );
      CREATE INDEX login_trust_until ON login_trust(trusted_until);
    `,
  },
  {
    version: 9,
    name: "CA names unique per organization (a CA is in its network's organization)",
    // As in migration 4, SQLite recreates the table to change its constraints, with foreign keys
    // deferred to the COMMIT so the CRLs and certificate devices pointing at the CAs stay valid.
    sqlite: `
      PRAGMA defer_foreign_keys = ON;
      CREATE TEMP TABLE cas_v8 AS SELECT * FROM cas;
      DROP TABLE cas;
      CREATE TABLE cas (
        id INTEGER PRIMARY KEY,
        name TEXT NOT NULL,
        fingerprint TEXT NOT NULL UNIQUE CHECK (length(fingerprint) = 64),
        der BLOB NOT NULL,
        subject TEXT NOT NULL,
        not_before INTEGER NOT NULL,
        not_after INTEGER NOT NULL,
        network_id INTEGER NOT NULL REFERENCES networks(id),
        max_devices INTEGER CHECK (max_devices IS NULL OR max_devices > 0),
        status TEXT NOT NULL CHECK (status IN ('active', 'revoked')),
        verified INTEGER NOT NULL CHECK (verified IN (0, 1)),
        created_at INTEGER NOT NULL,
        organization_id INTEGER NOT NULL REFERENCES organizations(id),
        UNIQUE (organization_id, name)
      ) STRICT;
      INSERT INTO cas (id, name, fingerprint, der, subject, not_before, not_after, network_id, max_devices,
                       status, verified, created_at, organization_id)
        SELECT c.id, c.name, c.fingerprint, c.der, c.subject, c.not_before, c.not_after, c.network_id,
               c.max_devices, c.status, c.verified, c.created_at, n.organization_id
        FROM cas_v8 c JOIN networks n ON n.id = c.network_id;
      DROP TABLE cas_v8;
      CREATE INDEX cas_network ON cas(network_id);
    `,
    postgres: `
      ALTER TABLE cas ADD COLUMN organization_id bigint REFERENCES organizations(id);
      UPDATE cas SET organization_id = n.organization_id FROM networks n WHERE n.id = cas.network_id;
      ALTER TABLE cas ALTER COLUMN organization_id SET NOT NULL;
      ALTER TABLE cas DROP CONSTRAINT cas_name_key;
      ALTER TABLE cas ADD UNIQUE (organization_id, name);
    `,
  },
];

/** The migrations still to apply on a database at `current`; SCHEMA error if it is newer than us. */
export function pendingMigrations(
  current: number,
  migrations: readonly Migration[] = MIGRATIONS,
): Migration[] {
  const latest = migrations.reduce((m, x) => Math.max(m, x.version), 0);
  if (current > latest) {
    throw new RegistryError(
      'SCHEMA',
      `registry schema version ${current} is newer than this program's ${latest}; upgrade enf-server`,
    );
  }
  return [...migrations].sort((a, b) => a.version - b.version).filter((m) => m.version > current);
}
