// Identity derivation: SHA-256 based IIDs, reserved IIDs skipped, collisions move to the next counter.
import test from 'ava';
import { sha256 } from '@noble/hashes/sha2.js';
import { concatBytes } from '../../../../protocol/util/bytes.ts';
import {
  chooseIdentity,
  deriveCandidate,
  isNullIdentity,
  isReservedIid,
  MAX_DERIVATION_ATTEMPTS,
} from '../../../../server-stub/policy/identity-derivation.ts';

const prefix = new Uint8Array([0x20, 0x01, 0x0d, 0xb8, 0, 0xaa, 0, 1]);
const gid = new Uint8Array(32).fill(7);
const pseudonym = new Uint8Array(65).fill(4);
const iid = (hex: string) => new Uint8Array(Buffer.from(hex, 'hex'));

test('the candidate is prefix || first 8 bytes of SHA-256(gid || pseudonym || u32be(counter))', (t) => {
  const c = deriveCandidate(prefix, gid, pseudonym, 2);
  t.deepEqual(c.subarray(0, 8), prefix);
  t.deepEqual(
    c.subarray(8),
    sha256(concatBytes(gid, pseudonym, new Uint8Array([0, 0, 0, 2]))).subarray(0, 8),
  );
  t.notDeepEqual(deriveCandidate(prefix, gid, pseudonym, 0), c);
});

test('reserved IIDs per RFC 5453 / RFC 2526 are recognised, neighbours are not', (t) => {
  t.true(isReservedIid(iid('0000000000000000')));
  t.true(isReservedIid(iid('02005efffe000000')));
  t.true(isReservedIid(iid('02005efffe005213')));
  t.true(isReservedIid(iid('02005efffeffffff')));
  t.true(isReservedIid(iid('fdffffffffffff80')));
  t.true(isReservedIid(iid('fdffffffffffffff')));
  t.false(isReservedIid(iid('0000000000000001')));
  t.false(isReservedIid(iid('02005efffd000000')));
  t.false(isReservedIid(iid('fdffffffffffff7f')));
  t.throws(() => isReservedIid(new Uint8Array(7)), { instanceOf: RangeError });
});

test('chooseIdentity skips taken addresses and gives up after the attempt limit', async (t) => {
  const first = deriveCandidate(prefix, gid, pseudonym, 0);
  const taken = new Set([Buffer.from(first).toString('hex')]);
  const got = await chooseIdentity(prefix, gid, pseudonym, async (id) =>
    taken.has(Buffer.from(id).toString('hex')),
  );
  t.deepEqual(got, deriveCandidate(prefix, gid, pseudonym, 1));
  let asked = 0;
  const none = await chooseIdentity(prefix, gid, pseudonym, async () => {
    asked++;
    return true;
  });
  t.is(none, undefined);
  t.is(asked, MAX_DERIVATION_ATTEMPTS);
});

test('the all-zero identity means "no request"', (t) => {
  t.true(isNullIdentity(new Uint8Array(16)));
  t.false(isNullIdentity(new Uint8Array(16).fill(1)));
});
