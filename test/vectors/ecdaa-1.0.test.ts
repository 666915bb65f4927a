// Interop with the C reference (xaptum/ecdaa 1.0.0, AMCL 4.7.3, FP256BN): the reference's keys,
// join request, credential and signatures decode and verify with our code, our hashes and
// pseudonyms equal the reference's, and replaying the reference's recorded random draws through
// signWithSecretKey reproduces its 421-byte XTT signature byte for byte.
import test from 'ava';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import * as E from '../../protocol/ecdaa/index.ts';
import { fromHex, toHex } from '../../protocol/util/bytes.ts';
import type { Rng } from '../../protocol/util/rng.ts';

const dir = (sub: string) => fileURLToPath(new URL(sub, import.meta.url));
const vec = (name: string) => new Uint8Array(readFileSync(dir(`./ecdaa-1.0/${name}`)));
const sample = (name: string) => new Uint8Array(readFileSync(dir(`./xtt-0.12-sample-data/client/${name}`)));

const gpkBytes = sample('daa_gpk.bin');
const basename = sample('basename.bin');
const secretKey = E.decodeScalar(sample('daa_secretkey.bin'), 'daa_secretkey');
const credential = E.decodeCredential(sample('daa_cred.bin'));
const gpk = E.decodeGroupPublicKey(gpkBytes);
const pgpk = E.prepareGroupPublicKey(gpk);
const msg = vec('msg.bin');

function derived(label: string): string {
  const line = readFileSync(dir('./ecdaa-1.0/derived.txt'), 'utf8')
    .split('\n')
    .find((l) => l.trimStart().startsWith(label));
  if (line === undefined) throw new Error(`derived.txt has no ${label}`);
  return line.split('=').pop()!.trim();
}

test('generators encode as in derived.txt', (t) => {
  t.is(toHex(E.encodeG1(E.G1.BASE)), derived('P1 (G1 generator)'));
  t.is(toHex(E.encodeG2(E.G2.BASE)), derived('P2 (G2 generator)'));
});

test('sample GPK and credential decode and round-trip byte for byte', (t) => {
  t.is(toHex(E.encodeGroupPublicKey(gpk)), toHex(gpkBytes));
  t.is(toHex(E.encodeCredential(credential)), toHex(sample('daa_cred.bin')));
});

test('sample credential: D = sk*B, B = y*A shape via e(A,Y) = e(B,P2), e(C,P2) = e(A+D,X)', (t) => {
  t.true(credential.D.equals(credential.B.multiply(secretKey)));
  const { A, B, C, D } = credential;
  t.true(E.GT.eql(E.pairing(A, gpk.Y), E.pairing(B, E.G2.BASE)));
  t.true(E.GT.eql(E.pairing(C, E.G2.BASE), E.pairing(A.add(D), gpk.X)));
  t.false(E.GT.eql(E.pairing(A, gpk.X), E.pairing(B, E.G2.BASE)), 'X and Y are not interchangeable');
});

test('sample member public key and gid', (t) => {
  t.is(toHex(E.encodeG1(E.memberPublicKey(secretKey))), derived('sample member public key'));
  t.is(toHex(E.groupId(gpkBytes, basename)), toHex(sample('gid.bin')));
});

test('hashToG1("BASENAME") and the pseudonym match the reference', (t) => {
  const h = E.hashToG1(basename);
  t.is(h.counter, 1);
  t.is(toHex(E.encodeG1(h.point)), derived('point'));
  t.is(toHex(E.encodeG1(E.pseudonymOf(secretKey, basename))), derived('sample pseudonym K'));
});

test('reference signature with basename verifies; its pseudonym equals ours', (t) => {
  const bytes = vec('ref_sig_bsn.bin');
  const sig = E.decodeSignature(bytes, { hasBasename: true });
  t.deepEqual(E.verifySignature(sig, msg, basename, pgpk), { ok: true });
  t.is(toHex(E.encodeSignature(sig)), toHex(bytes));
  t.true(sig.K!.equals(E.pseudonymOf(secretKey, basename)));
  const ours = E.signWithSecretKey({ message: msg, basename, secretKey, credential, rng: cryptoRng });
  t.is(toHex(E.encodeG1(ours.K!)), toHex(bytes.subarray(356)));
});

test('reference signature without basename verifies', (t) => {
  const sig = E.decodeSignature(vec('ref_sig_nobsn.bin'), { hasBasename: false });
  t.deepEqual(E.verifySignature(sig, msg, undefined, pgpk), { ok: true });
  t.deepEqual(E.verifySignature(sig, new TextEncoder().encode('hello xtt messagf'), undefined, pgpk), {
    ok: false,
    reason: 'challenge',
  });
});

test('reference issuer key proof, join request and credential verify', (t) => {
  const ipk = E.decodeIssuerPublicKey(vec('ipk.bin'));
  t.true(E.verifyIssuerPublicKey(ipk));
  const isk = E.decodeIssuerSecretKey(vec('isk.bin'));
  t.true(ipk.gpk.X.equals(E.G2.BASE.multiply(isk.x)));
  t.true(ipk.gpk.Y.equals(E.G2.BASE.multiply(isk.y)));

  const nonce = vec('nonce.bin');
  const request = E.decodeJoinRequest(vec('mpk.bin'));
  t.true(E.verifyJoinRequest(request, nonce));
  t.false(E.verifyJoinRequest(request, new TextEncoder().encode('join-nonce-1235')));
  const msk = E.decodeScalar(vec('msk.bin'));
  t.true(request.Q.equals(E.memberPublicKey(msk)));

  const cred = E.decodeCredential(vec('cred.bin'));
  const credSig = E.decodeCredentialSignature(vec('cred_sig.bin'));
  t.true(E.verifyCredential(cred, credSig, request.Q, ipk.gpk));
  t.false(E.verifyCredential(cred, credSig, request.Q, gpk), 'credential of another group');
  t.false(
    E.verifyCredential(cred, { c: credSig.c, s: (credSig.s + 1n) % E.CURVE_ORDER }, request.Q, ipk.gpk),
  );

  // Our own member signing with the reference's credential verifies under the reference GPK.
  const sig = E.signWithSecretKey({
    message: msg,
    basename,
    secretKey: msk,
    credential: cred,
    rng: cryptoRng,
  });
  t.deepEqual(E.verifySignature(sig, msg, basename, E.prepareGroupPublicKey(ipk.gpk)), { ok: true });
});

const cryptoRng: Rng = { bytes: (n) => globalThis.crypto.getRandomValues(new Uint8Array(n)) };

interface Draw {
  index: number;
  size: number;
  bytes: string;
}
interface XttVector {
  static_inputs: { daa: { group_public_key: string; credential: string; basename: string } };
  random_draws: { client: Draw[] };
  signatures: {
    daa_signature_c: {
      signed_message: string;
      basename: string;
      signature: string;
      intermediates_derived: { l: string; k: string; n: string };
    };
  };
}

test('XTT suite 1: replaying client draws 5, 6, 7 reproduces the reference DAA signature', (t) => {
  const v = JSON.parse(
    readFileSync(dir('./ecdaa-1.0/xtt-0.12-suite1_chacha20poly1305_sha512.json'), 'utf8'),
  ) as XttVector;
  const ds = v.signatures.daa_signature_c;
  t.is(v.static_inputs.daa.group_public_key, toHex(gpkBytes));
  t.is(v.static_inputs.daa.credential, toHex(sample('daa_cred.bin')));
  t.is(ds.basename, toHex(basename));

  const draws = v.random_draws.client
    .filter((d) => d.index >= 5 && d.index <= 7)
    .map((d) => fromHex(d.bytes));
  t.is(draws.length, 3);
  // randomScalar alone turns each draw into the logged intermediates l, k, n.
  const one = (d: Uint8Array): Rng => ({ bytes: (n) => (t.is(n, d.length), d.slice()) });
  t.is(E.randomScalar(one(draws[0]!)).toString(16).padStart(64, '0'), ds.intermediates_derived.l);
  t.is(E.randomScalar(one(draws[1]!)).toString(16).padStart(64, '0'), ds.intermediates_derived.k);
  t.is(E.randomScalar(one(draws[2]!)).toString(16).padStart(64, '0'), ds.intermediates_derived.n);

  const queue = [...draws];
  const replay: Rng = {
    bytes(n) {
      const d = queue.shift();
      if (d === undefined || d.length !== n) throw new Error(`unexpected draw of ${n} bytes`);
      return d.slice();
    },
  };
  const message = fromHex(ds.signed_message);
  const sig = E.signWithSecretKey({ message, basename, secretKey, credential, rng: replay });
  t.is(queue.length, 0, 'exactly three draws used');
  t.is(toHex(E.encodeSignature(sig)), ds.signature);
  t.deepEqual(E.verifySignature(sig, message, basename, pgpk), { ok: true });
});

test('batch verification accepts the reference signatures mixed with ours and rejects a tampered one', (t) => {
  const refBsn = E.decodeSignature(vec('ref_sig_bsn.bin'), { hasBasename: true });
  const refNoBsn = E.decodeSignature(vec('ref_sig_nobsn.bin'), { hasBasename: false });
  const ours = E.signWithSecretKey({ message: msg, basename, secretKey, credential, rng: cryptoRng });
  const items = [
    { signature: refBsn, message: msg, basename },
    { signature: refNoBsn, message: msg },
    { signature: ours, message: msg, basename },
    { signature: refBsn, message: new TextEncoder().encode('hello xtt messagE'), basename },
  ];
  t.deepEqual(E.batchVerify(items, pgpk, { rng: cryptoRng }), [true, true, true, false]);
});
