// Versioned schema of the SQLite registry. Each migration runs once, in order, inside one
// transaction that also records it in schema_migrations; a database newer than this program is
// refused rather than guessed at. Append new migrations; never edit an applied one.
import type Database from 'better-sqlite3';
import { RegistryError } from './errors.ts';

export interface Migration {
  version: number;
  name: string;
  sql: string;
}

export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    name: 'networks, batches, devices, append-only audit',
    sql: `
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
  },
];

/** Apply every pending migration; returns the schema version afterwards. */
export function migrate(db: Database.Database, migrations: readonly Migration[] = MIGRATIONS): number {
  db.exec(`CREATE TABLE IF NOT EXISTS schema_migrations (
    version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at INTEGER NOT NULL) STRICT`);
  const latest = migrations.reduce((m, x) => Math.max(m, x.version), 0);
  // BEGIN IMMEDIATE: two servers starting on one fresh file must not both apply version 1.
  db.exec('BEGIN IMMEDIATE');
  try {
    const row = db.prepare('SELECT MAX(version) AS v FROM schema_migrations').get() as { v: number | null };
    const current = row.v ?? 0;
    if (current > latest) {
      throw new RegistryError(
        'SCHEMA',
        `registry schema version ${current} is newer than this program's ${latest}; upgrade enf-server`,
      );
    }
    const record = db.prepare('INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)');
    for (const m of [...migrations].sort((a, b) => a.version - b.version)) {
      if (m.version <= current) continue;
      db.exec(m.sql);
      record.run(m.version, m.name, Date.now());
    }
    db.exec('COMMIT');
    return latest;
  } catch (err) {
    db.exec('ROLLBACK');
    throw err;
  }
}
