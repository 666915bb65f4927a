// Password hashing (server-stub/http/password.ts): scrypt with a per-user salt and the parameters in
// the stored text; the RFC 7914 section 12 test vector through node:crypto with our encoding; wrong,
// altered and foreign stored forms never verify; the length rules of new passwords.
import test from 'ava';
import { scryptSync } from 'node:crypto';
import { ValidationError } from '../../../../server-stub/registry/errors.ts';
import {
  checkPassword,
  hashPassword,
  parseStored,
  verifyPassword,
} from '../../../../server-stub/http/password.ts';

const FAST = { ln: 4, r: 8, p: 1 };

test('RFC 7914 vector: scrypt("password", "NaCl", N=1024, r=8, p=16) as node:crypto computes it', (t) => {
  const key = scryptSync('password', 'NaCl', 64, { N: 1024, r: 8, p: 16 });
  t.is(
    key.toString('hex'),
    'fdbabe1c9d3472007856e7190d01e9fe7c6ad7cbc8237830e77376634b3731622eaf30d92e22a3886ff109279d9830dac727afb94a83ee6d8360cbdfa2cc0640',
  );
});

test('hash then verify; a wrong password, another salt and altered parameters do not verify', async (t) => {
  const a = await hashPassword('correct horse battery', FAST);
  const b = await hashPassword('correct horse battery', FAST);
  t.regex(a, /^scrypt\$ln=4,r=8,p=1\$[A-Za-z0-9+/=]{24}\$[A-Za-z0-9+/=]{44}$/);
  t.not(a, b, 'a fresh salt per hash');
  t.false(a.includes('correct'));
  t.true(await verifyPassword('correct horse battery', a));
  t.true(await verifyPassword('correct horse battery', b));
  t.false(await verifyPassword('correct horse batterY', a));
  t.false(await verifyPassword('', a));
  t.false(await verifyPassword('correct horse battery', a.replace('ln=4', 'ln=5')));
  t.false(await verifyPassword('correct horse battery', a.replace('r=8', 'r=4')));
  const parts = a.split('$');
  t.false(
    await verifyPassword(
      'correct horse battery',
      [...parts.slice(0, 2), b.split('$')[2], parts[3]].join('$'),
    ),
  );
});

test('the default parameters are stored with the hash; NFC and NFD spellings are one password', async (t) => {
  const h = await hashPassword('caf\u00e9 au lait!');
  t.deepEqual(parseStored(h)?.params, { ln: 15, r: 8, p: 1 });
  t.true(await verifyPassword('cafe\u0301 au lait!', h));
});

test('stored forms we did not make never verify (and take a check anyway)', async (t) => {
  for (const s of [
    '',
    'plain',
    'scrypt$ln=4,r=8,p=1$$',
    'scrypt$ln=99,r=8,p=1$AAAAAAAAAAAAAAAAAAAAAA==$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=',
    'scrypt$ln=4,r=8,p=1$AAAA$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=',
    'scrypt$ln=4,r=8,p=1$AAAAAAAAAAAAAAAAAAAAAA==$AAAA',
    'argon2id$v=19$m=65536,t=3,p=4$c2FsdA$aGFzaA',
  ]) {
    t.is(parseStored(s), undefined, s);
    t.false(await verifyPassword('anything at all', s), s);
  }
});

test('new passwords: at least 10 characters (code points), at most 1024, strings only', (t) => {
  t.is(checkPassword('0123456789'), '0123456789');
  t.is(checkPassword('\u{1F511}'.repeat(10)), '\u{1F511}'.repeat(10));
  for (const bad of ['short', '123456789', 'x'.repeat(1025), 12345678901, undefined]) {
    const e = t.throws(() => checkPassword(bad), { instanceOf: ValidationError });
    t.is(e?.field, 'password');
  }
});
