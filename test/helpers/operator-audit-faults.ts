// Fault injection for the operator audit: SQL that makes the database itself refuse every insert into
// operator_audit (a trigger: SQLite RAISE(ABORT), PostgreSQL RAISE EXCEPTION), and its removal. The
// tests that the state change and its audit row are one transaction turn it on around a change.
const INJECTED = 'injected: operator_audit refuses this insert';

/** SQL for each backend: a trigger refusing every insert into operator_audit, and its removal. */
export const FAIL_OPERATOR_AUDIT = {
  sqlite: {
    on: `CREATE TRIGGER test_fail_operator_audit BEFORE INSERT ON operator_audit
         BEGIN SELECT RAISE(ABORT, '${INJECTED}'); END`,
    off: 'DROP TRIGGER test_fail_operator_audit',
  },
  postgres: {
    on: `CREATE OR REPLACE FUNCTION test_fail_operator_audit() RETURNS trigger LANGUAGE plpgsql AS $$
         BEGIN RAISE EXCEPTION '${INJECTED}'; END $$;
         CREATE TRIGGER test_fail_operator_audit BEFORE INSERT ON operator_audit
           FOR EACH ROW EXECUTE FUNCTION test_fail_operator_audit()`,
    off: 'DROP TRIGGER test_fail_operator_audit ON operator_audit',
  },
} as const;
