// Issuer and join flow (protocol/ecdaa/issuer.ts, member.ts): issuer key proof, join request
// proof bound to the nonce, credential issuance and the member's credential check, and the
// failure of each when tampered with.
import test from 'ava';
import { CryptoError } from '../../../../protocol/errors.ts';
import * as E from '../../../../protocol/ecdaa/index.ts';
import { seededRng, utf8 } from './_fixtures.ts';

const rng = seededRng('issuer');
const { secretKey: isk, publicKey: ipk } = E.createIssuer(rng);

test('a new issuer public key carries a valid proof and round-trips', (t) => {
  t.true(E.verifyIssuerPublicKey(ipk));
  t.true(ipk.gpk.X.equals(E.G2.BASE.multiply(isk.x)));
  const again = E.decodeIssuerPublicKey(E.encodeIssuerPublicKey(ipk));
  t.true(E.verifyIssuerPublicKey(again));
  t.deepEqual(E.decodeIssuerSecretKey(E.encodeIssuerSecretKey(isk)), isk);
});

test('a tampered issuer proof or swapped X/Y fails', (t) => {
  t.false(E.verifyIssuerPublicKey({ ...ipk, sx: (ipk.sx + 1n) % E.CURVE_ORDER }));
  t.false(E.verifyIssuerPublicKey({ ...ipk, c: (ipk.c + 1n) % E.CURVE_ORDER }));
  t.false(E.verifyIssuerPublicKey({ ...ipk, gpk: { X: ipk.gpk.Y, Y: ipk.gpk.X } }));
});

test('join: request verifies for its nonce only; credential verifies for its member only', (t) => {
  const sk = E.randomScalar(rng);
  const nonce = utf8('fresh issuer nonce');
  const request = E.createJoinRequest(sk, nonce, rng);
  t.true(E.verifyJoinRequest(request, nonce));
  t.false(E.verifyJoinRequest(request, utf8('another nonce')));
  t.false(E.verifyJoinRequest({ ...request, Q: request.Q.double() }, nonce));
  t.deepEqual(E.decodeJoinRequest(E.encodeJoinRequest(request)).Q.toAffine(), request.Q.toAffine());

  const { credential, credentialSignature } = E.issueCredential(isk, request, nonce, rng);
  t.true(E.verifyCredential(credential, credentialSignature, request.Q, ipk.gpk));
  t.true(credential.D.equals(credential.B.multiply(sk)), 'D = sk*B');
  const otherQ = E.memberPublicKey(E.randomScalar(rng));
  t.false(E.verifyCredential(credential, credentialSignature, otherQ, ipk.gpk));
  t.false(
    E.verifyCredential({ ...credential, C: credential.C.double() }, credentialSignature, request.Q, ipk.gpk),
  );
  t.false(E.verifyCredential({ ...credential, A: E.G1.ZERO }, credentialSignature, request.Q, ipk.gpk));
  const dec = E.decodeCredentialSignature(E.encodeCredentialSignature(credentialSignature));
  t.deepEqual(dec, credentialSignature);

  const sig = E.signWithSecretKey({ message: utf8('m'), secretKey: sk, credential, rng });
  t.deepEqual(E.verifySignature(sig, utf8('m'), undefined, E.prepareGroupPublicKey(ipk.gpk)), { ok: true });
});

test('issueCredential refuses a join request whose proof fails', (t) => {
  const sk = E.randomScalar(rng);
  const request = E.createJoinRequest(sk, utf8('nonce A'), rng);
  const err = t.throws(() => E.issueCredential(isk, request, utf8('nonce B'), rng), {
    instanceOf: CryptoError,
  });
  t.is(err.code, 'ECDAA_JOIN_PROOF');
});
