// Reads the live schema of a registry database (SQLite or PostgreSQL) into the shape of
// server-stub/registry/schema.ts, so a test can hold each backend to the one description.
import type Database from 'better-sqlite3';
import type pg from 'pg';
import { NATIVE_TYPES, SCHEMA, type SchemaSpec } from '../../server-stub/registry/schema.ts';

interface LiveColumn {
  name: string;
  type: string;
  nullable: boolean;
}
export interface LiveTable {
  name: string;
  columns: LiveColumn[];
  primaryKey: string[];
  unique: string[][];
  foreignKeys: { columns: string[]; table: string; references: string[] }[];
}
export interface LiveSchema {
  tables: LiveTable[];
  indexes: { name: string; table: string; columns: string[] }[];
}

const byName = <T extends { name: string }>(xs: T[]): T[] =>
  [...xs].sort((a, b) => a.name.localeCompare(b.name));
const sortSets = (sets: string[][]): string[][] => [...sets].sort((a, b) => a.join().localeCompare(b.join()));
/** Foreign keys by referencing columns (SQLite lists them newest first, PostgreSQL by name). */
const sortFks = <T extends { columns: string[] }>(fks: T[]): T[] =>
  [...fks].sort((a, b) => a.columns.join().localeCompare(b.columns.join()));

/** SCHEMA with each column type spelled as `dialect` names it, in the order the readers return. */
export function expectedSchema(dialect: keyof typeof NATIVE_TYPES, spec: SchemaSpec = SCHEMA): LiveSchema {
  return {
    tables: byName(
      spec.tables.map((t) => ({
        name: t.name,
        columns: t.columns.map((c) => ({
          name: c.name,
          type: NATIVE_TYPES[dialect][c.type],
          nullable: c.nullable,
        })),
        primaryKey: [...t.primaryKey],
        unique: sortSets(t.unique.map((u) => [...u])),
        foreignKeys: sortFks(
          t.foreignKeys.map((f) => ({
            columns: [...f.columns],
            table: f.table,
            references: [...f.references],
          })),
        ),
      })),
    ),
    indexes: byName(spec.indexes.map((i) => ({ name: i.name, table: i.table, columns: [...i.columns] }))),
  };
}

type R = Record<string, unknown>;

export function readSqliteSchema(db: Database.Database): LiveSchema {
  const names = (
    db
      .prepare(
        `SELECT name FROM sqlite_schema WHERE type = 'table'
         AND name NOT LIKE 'sqlite_%' AND name <> 'schema_migrations'`,
      )
      .all() as R[]
  ).map((r) => String(r.name));
  const indexColumns = (index: string) =>
    (db.pragma(`index_info(${JSON.stringify(index)})`) as R[])
      .sort((a, b) => Number(a.seqno) - Number(b.seqno))
      .map((r) => String(r.name));
  const tables: LiveTable[] = [];
  const indexes: LiveSchema['indexes'] = [];
  for (const name of names) {
    const cols = db.pragma(`table_info(${JSON.stringify(name)})`) as R[];
    const list = db.pragma(`index_list(${JSON.stringify(name)})`) as R[];
    const fks = db.pragma(`foreign_key_list(${JSON.stringify(name)})`) as R[];
    tables.push({
      name,
      // A primary key column is never NULL (STRICT tables and rowid aliases enforce it).
      columns: cols.map((c) => ({
        name: String(c.name),
        type: String(c.type),
        nullable: !c.notnull && !c.pk,
      })),
      primaryKey: cols
        .filter((c) => Number(c.pk) > 0)
        .sort((a, b) => Number(a.pk) - Number(b.pk))
        .map((c) => String(c.name)),
      unique: sortSets(list.filter((i) => i.origin === 'u').map((i) => indexColumns(String(i.name)))),
      foreignKeys: sortFks(
        [...new Set(fks.map((f) => Number(f.id)))].map((id) => {
          const parts = fks.filter((f) => Number(f.id) === id).sort((a, b) => Number(a.seq) - Number(b.seq));
          return {
            columns: parts.map((f) => String(f.from)),
            table: String(parts[0]!.table),
            references: parts.map((f) => String(f.to)),
          };
        }),
      ),
    });
    for (const i of list.filter((x) => x.origin === 'c')) {
      indexes.push({ name: String(i.name), table: name, columns: indexColumns(String(i.name)) });
    }
  }
  return { tables: byName(tables), indexes: byName(indexes) };
}

export async function readPostgresSchema(c: pg.ClientBase): Promise<LiveSchema> {
  const q = async (sql: string, args: unknown[] = []) => (await c.query(sql, args)).rows as R[];
  const names = (
    await q(
      `SELECT table_name FROM information_schema.tables
       WHERE table_schema = current_schema() AND table_name <> 'schema_migrations'`,
    )
  ).map((r) => String(r.table_name));
  // Constraint columns in key order, by constraint.
  const constraintColumns = async (table: string, type: string) => {
    const rows = await q(
      `SELECT tc.constraint_name, k.column_name FROM information_schema.table_constraints tc
       JOIN information_schema.key_column_usage k
         ON k.constraint_name = tc.constraint_name AND k.table_schema = tc.table_schema
       WHERE tc.table_schema = current_schema() AND tc.table_name = $1 AND tc.constraint_type = $2
       ORDER BY tc.constraint_name, k.ordinal_position`,
      [table, type],
    );
    const sets = new Map<string, string[]>();
    for (const r of rows) {
      const key = String(r.constraint_name);
      sets.set(key, [...(sets.get(key) ?? []), String(r.column_name)]);
    }
    return [...sets.values()];
  };
  const tables: LiveTable[] = [];
  for (const name of names) {
    const cols = await q(
      `SELECT column_name, data_type, is_nullable FROM information_schema.columns
       WHERE table_schema = current_schema() AND table_name = $1 ORDER BY ordinal_position`,
      [name],
    );
    const fks = await q(
      `SELECT a.attname AS column, r.relname AS ref_table, ra.attname AS ref_column
       FROM pg_constraint x
       JOIN pg_class t ON t.oid = x.conrelid
       JOIN pg_class r ON r.oid = x.confrelid
       CROSS JOIN LATERAL unnest(x.conkey, x.confkey) WITH ORDINALITY AS k(attnum, refnum, ord)
       JOIN pg_attribute a ON a.attrelid = x.conrelid AND a.attnum = k.attnum
       JOIN pg_attribute ra ON ra.attrelid = x.confrelid AND ra.attnum = k.refnum
       WHERE x.contype = 'f' AND t.relname = $1 AND t.relnamespace = current_schema()::regnamespace
       ORDER BY x.conname, k.ord`,
      [name],
    );
    tables.push({
      name,
      columns: cols.map((r) => ({
        name: String(r.column_name),
        type: String(r.data_type),
        nullable: r.is_nullable === 'YES',
      })),
      primaryKey: (await constraintColumns(name, 'PRIMARY KEY'))[0] ?? [],
      unique: sortSets(await constraintColumns(name, 'UNIQUE')),
      // Our foreign keys are single-column; one entry per referencing column.
      foreignKeys: sortFks(
        fks.map((f) => ({
          columns: [String(f.column)],
          table: String(f.ref_table),
          references: [String(f.ref_column)],
        })),
      ),
    });
  }
  const indexes = (
    await q(
      `SELECT i.relname AS name, t.relname AS table,
              ARRAY(SELECT a.attname FROM unnest(x.indkey) WITH ORDINALITY AS k(attnum, ord)
                    JOIN pg_attribute a ON a.attrelid = t.oid AND a.attnum = k.attnum
                    ORDER BY k.ord)::text[] AS columns
       FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid JOIN pg_class t ON t.oid = x.indrelid
       WHERE NOT x.indisunique AND t.relnamespace = current_schema()::regnamespace
         AND t.relname <> 'schema_migrations'`,
    )
  ).map((r) => ({
    name: String(r.name),
    table: String(r.table),
    columns: (r.columns as string[]).map(String),
  }));
  return { tables: byName(tables), indexes: byName(indexes) };
}
