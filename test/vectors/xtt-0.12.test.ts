// Byte-exact interop with the reference xaptum/xtt 0.12.0 (test/vectors/xtt-0.12/README.md): with the
// recorded random draws replayed, our client and server produce the reference's messages byte for
// byte (including the DAA signature through protocol/ecdaa), our key schedule and transcript hashes
// equal the logged ones, we decrypt and verify the reference's messages, and the three error cases
// end as the reference's peers did (with a real Error message where the tool wrote garbage).
import test from 'ava';
import {
  decodeP256KeyFile,
  decodeRootCertificate,
  decodeServerCertificate,
  verifyServerCertificate,
} from '../../protocol/xtt/certificates.ts';
import { XttClient, type ClientStep } from '../../protocol/xtt/client.ts';
import { ReferenceCookieStrategy } from '../../protocol/xtt/cookie.ts';
import { p256PublicKey, signP256WithK, verifyP256 } from '../../protocol/xtt/ecdsa-p256.ts';
import {
  clientDaaSigHash,
  clientLongtermSigHash,
  deriveHandshakeKeys,
  handshakeKeyHash,
  handshakeKeyHashInner,
  handshakeSecret,
  serverSigHash,
  x25519PublicKey,
  x25519Shared,
} from '../../protocol/xtt/key-schedule.ts';
import { decodeIcaPlaintext, decodeIsfPlaintext, decodeSiaaPlaintext } from '../../protocol/xtt/messages.ts';
import { XttServer, type ServerStep } from '../../protocol/xtt/server.ts';
import { SoftwareP256Signer, type ServerPolicy } from '../../protocol/xtt/signers.ts';
import { SoftwareDaaSigner } from '../../protocol/xtt/software-daa-signer.ts';
import { SoftwareDaaVerifier } from '../../protocol/xtt/software-daa-verifier.ts';
import { aeadNonce, suiteOps } from '../../protocol/xtt/suite-ops.ts';
import { equalBytes, fromHex, toHex } from '../../protocol/util/bytes.ts';
import type { Rng } from '../../protocol/util/rng.ts';
import { ReplayRng } from '../fakes/replay-rng.ts';
import {
  drawBytes,
  h,
  has,
  loadVector,
  VECTOR_FILES,
  wireBytes,
  type Vector,
} from '../helpers/xtt-vectors.ts';

const FULL = VECTOR_FILES.filter((f) => f.startsWith('suite'));
const ERROR_MSG = '41000401';

function sendData(step: ClientStep | ServerStep): string {
  if (step.kind === 'send' || step.kind === 'done' || step.kind === 'failed')
    return step.data ? toHex(step.data) : '';
  return '';
}

function referencePolicy(v: Vector, rng: Rng): ServerPolicy {
  const verifier = new SoftwareDaaVerifier([{ gpk: v.static.gpk, basename: v.static.basename }]);
  return {
    verifyDaa: verifier.verifyDaa,
    // The reference tool: echo a requested id, otherwise draw 16 random bytes (server draw 4).
    assignIdentity: (req) =>
      Promise.resolve({
        ok: true,
        id: req.requestedId.some((b) => b !== 0) ? req.requestedId.slice() : rng.bytes(16),
      }),
  };
}

function makeClient(v: Vector, opts: { indices: number[] }): { client: XttClient; rng: ReplayRng } {
  const raw = v.raw;
  const rng = new ReplayRng(v.draws.client, opts.indices);
  const longterm = SoftwareP256Signer.fromPrivateKey(
    h(raw, 'client_ephemeral_and_longterm.longterm_private_key'),
    rng,
  );
  const gpk = has(raw, 'client_config_override.group_public_key')
    ? h(raw, 'client_config_override.group_public_key')
    : v.static.gpk;
  const daa = new SoftwareDaaSigner(
    { secretKey: v.static.secretKey, credential: v.static.credential, gpk, basename: v.static.basename },
    rng,
  );
  const rootCert = has(raw, 'client_config_override.root_certificate')
    ? h(raw, 'client_config_override.root_certificate')
    : v.static.rootCertificate;
  const requestedId = has(raw, 'client_config_override.requested_id')
    ? h(raw, 'client_config_override.requested_id')
    : undefined;
  const client = new XttClient({
    suite: v.suite,
    roots: [decodeRootCertificate(rootCert)],
    longterm,
    daa,
    rng,
    ...(requestedId ? { requestedId } : {}),
  });
  return { client, rng };
}

function makeServer(v: Vector, indices: number[]): { server: XttServer; rng: ReplayRng } {
  const raw = v.raw;
  const rng = new ReplayRng(v.draws.server, indices);
  const key = has(raw, 'server_config_override.signing_keypair.private_key')
    ? h(raw, 'server_config_override.signing_keypair.private_key')
    : v.static.serverPrivateKey;
  const soft = SoftwareP256Signer.fromPrivateKey(key, rng);
  // error_bad_server_signature: the server signs with a key that does not match its certificate.
  const signer = { publicKey: v.static.serverPublicKey, sign: (m: Uint8Array) => soft.sign(m) };
  const server = new XttServer({
    certificate: v.static.serverCertificate,
    signer,
    cookies: new ReferenceCookieStrategy({ rng }),
    policy: referencePolicy(v, rng),
    rng,
  });
  return { server, rng };
}

for (const file of VECTOR_FILES) {
  const v = loadVector(file);

  test(`${v.case}: static inputs (key files, certificates, gid, root signature)`, (t) => {
    const s = v.static;
    const rootKp = decodeP256KeyFile(s.rootKeyFile);
    t.is(toHex(rootKp.privateKey), toHex(s.rootPrivateKey));
    t.is(toHex(rootKp.publicKey), toHex(s.rootPublicKey));
    const serverKp = decodeP256KeyFile(s.serverKeyFile);
    t.is(toHex(serverKp.publicKey), toHex(s.serverPublicKey));
    t.is(
      toHex(SoftwareP256Signer.fromPrivateKey(s.serverPrivateKey, new ReplayRng([], [])).toKeyFile()),
      toHex(s.serverKeyFile),
    );
    const root = decodeRootCertificate(s.rootCertificate);
    t.is(toHex(root.rootId), toHex(s.rootId));
    const cert = verifyServerCertificate(s.serverCertificate, [root]);
    t.is(toHex(cert.publicKey), toHex(s.serverPublicKey));
    t.is(new TextDecoder().decode(cert.reserved), 'XAPTUMSERVER000199991231');
    const signed = s.serverCertificate.subarray(0, 105);
    t.is(
      toHex(signP256WithK(s.rootPrivateKey, signed, s.rootSignatureK)!),
      toHex(decodeServerCertificate(s.serverCertificate).rootSignature),
    );
    t.is(
      toHex(
        new SoftwareDaaSigner(
          { secretKey: s.secretKey, credential: s.credential, gpk: s.gpk, basename: s.basename },
          new ReplayRng([], []),
        ).gid,
      ),
      toHex(s.gid),
    );
  });

  test(`${v.case}: key schedule, transcript hashes and AEAD portions`, (t) => {
    const raw = v.raw;
    const ops = suiteOps(v.suite);
    const ci = wireBytes(v, 'ClientInit');
    const siaa = wireBytes(v, 'ServerInitAndAttest');
    const cPriv = h(raw, 'client_ephemeral_and_longterm.x25519_private_key');
    const sPriv = h(raw, 'server_ephemeral.x25519_private_key');
    t.is(toHex(x25519PublicKey(cPriv)), toHex(h(raw, 'client_ephemeral_and_longterm.x25519_public_key')));
    t.is(toHex(x25519PublicKey(sPriv)), toHex(h(raw, 'server_ephemeral.x25519_public_key')));
    const shared = x25519Shared(cPriv, x25519PublicKey(sPriv));
    t.is(toHex(shared), toHex(h(raw, 'key_schedule.x25519_shared_secret')));
    t.is(toHex(x25519Shared(sPriv, x25519PublicKey(cPriv))), toHex(shared));
    const inner = handshakeKeyHashInner(ops, ci, siaa.subarray(0, 168));
    t.is(toHex(inner), toHex(h(raw, 'key_schedule.handshake_key_hash_inner.output')));
    const cookie = siaa.subarray(38, 168);
    const hkh = handshakeKeyHash(ops, inner, cookie);
    t.is(toHex(hkh), toHex(h(raw, 'key_schedule.handshake_key_hash.output')));
    t.is(toHex(handshakeSecret(ops, shared)), toHex(h(raw, 'key_schedule.handshake_secret.output')));
    const keys = deriveHandshakeKeys(ops, shared, hkh);
    t.is(toHex(keys.clientKey), toHex(h(raw, 'key_schedule.client_handshake_key.output')));
    t.is(toHex(keys.clientIv), toHex(h(raw, 'key_schedule.client_handshake_iv.output')));
    t.is(toHex(keys.serverKey), toHex(h(raw, 'key_schedule.server_handshake_key.output')));
    t.is(toHex(keys.serverIv), toHex(h(raw, 'key_schedule.server_handshake_iv.output')));

    // ServerInitAndAttest: decrypt the reference's bytes, re-encrypt to the same bytes.
    const siaaPlain = ops.open(
      keys.serverKey,
      aeadNonce(keys.serverIv, 0),
      siaa.subarray(0, 168),
      siaa.subarray(168),
    );
    t.is(toHex(siaaPlain), toHex(h(raw, 'messages.server_init_and_attest.aead.plaintext')));
    t.is(
      toHex(ops.seal(keys.serverKey, aeadNonce(keys.serverIv, 0), siaa.subarray(0, 168), siaaPlain)),
      toHex(siaa.subarray(168)),
    );
    const { certificate, signatureS } = decodeSiaaPlaintext(siaaPlain);
    const ssh = serverSigHash(ops, ci, siaa.subarray(0, 168), certificate);
    t.is(toHex(ssh), toHex(h(raw, 'transcript_hashes.ServerSigHash.output')));
    t.is(
      verifyP256(v.static.serverPublicKey, ssh, signatureS),
      !file.startsWith('error_bad_server_signature'),
    );
    t.is(
      toHex(
        signP256WithK(
          has(raw, 'server_config_override')
            ? h(raw, 'server_config_override.signing_keypair.private_key')
            : v.static.serverPrivateKey,
          ssh,
          h(raw, 'signatures.server_signature_s.k'),
        )!,
      ),
      toHex(signatureS),
    );

    if (!has(raw, 'messages.identity_client_attest')) return;
    const ica = wireBytes(v, 'Identity_ClientAttest');
    const icaPlain = ops.open(
      keys.clientKey,
      aeadNonce(keys.clientIv, 0),
      ica.subarray(0, 136),
      ica.subarray(136),
    );
    t.is(toHex(icaPlain), toHex(h(raw, 'messages.identity_client_attest.aead.plaintext')));
    t.is(
      toHex(ops.seal(keys.clientKey, aeadNonce(keys.clientIv, 0), ica.subarray(0, 136), icaPlain)),
      toHex(ica.subarray(136)),
    );
    const p = decodeIcaPlaintext(icaPlain);
    const lt = clientLongtermSigHash(ops, inner, cookie, certificate, signatureS, ica.subarray(0, 136));
    t.is(toHex(lt), toHex(h(raw, 'transcript_hashes.ClientLongtermSigHash.output')));
    t.true(verifyP256(p.longtermKey, lt, p.longtermSignature));
    t.is(
      toHex(
        signP256WithK(
          h(raw, 'signatures.longterm_signature.signer_private_key'),
          lt,
          h(raw, 'signatures.longterm_signature.k'),
        )!,
      ),
      toHex(p.longtermSignature),
    );
    const daa = clientDaaSigHash(ops, inner, cookie, certificate, signatureS, ica.subarray(0, 136));
    t.is(toHex(daa), toHex(h(raw, 'transcript_hashes.ClientDAASigHash.output')));
    t.is(toHex(daa), toHex(h(raw, 'signatures.daa_signature_c.signed_message')));

    if (!has(raw, 'messages.identity_server_finished')) return;
    const isf = wireBytes(v, 'Identity_ServerFinished');
    t.is(toHex(aeadNonce(keys.serverIv, 1)), toHex(h(raw, 'messages.identity_server_finished.aead.nonce')));
    const isfPlain = ops.open(
      keys.serverKey,
      aeadNonce(keys.serverIv, 1),
      isf.subarray(0, 6),
      isf.subarray(6),
    );
    const fin = decodeIsfPlaintext(isfPlain);
    t.is(toHex(fin.id), toHex(h(raw, 'result.assigned_id')));
    t.is(toHex(fin.longtermKey), toHex(p.longtermKey));
  });
}

for (const file of FULL) {
  const v = loadVector(file);
  const requested = has(v.raw, 'client_config_override.requested_id');

  test(`${v.case}: our client sends the reference's bytes and accepts its server`, async (t) => {
    const { client, rng } = makeClient(v, { indices: [1, 3, 4, 5, 6, 7] });
    const start = client.start();
    t.is(sendData(start), toHex(wireBytes(v, 'ClientInit')));
    const siaa = wireBytes(v, 'ServerInitAndAttest');
    // Feed in two pieces to exercise the framer.
    const first = await client.receive(siaa.subarray(0, 4));
    t.deepEqual(first, { kind: 'need', bytes: 413 });
    const ica = await client.receive(siaa.subarray(4));
    t.is(sendData(ica), toHex(wireBytes(v, 'Identity_ClientAttest')));
    const done = await client.receive(wireBytes(v, 'Identity_ServerFinished'));
    if (done.kind !== 'done')
      return t.fail(`client ended ${done.kind}: ${done.kind === 'failed' ? done.error.message : ''}`);
    t.is(toHex(done.result.identity), toHex(h(v.raw, 'result.assigned_id')));
    t.is(
      toHex(done.result.longtermPublicKey),
      toHex(h(v.raw, 'client_ephemeral_and_longterm.longterm_public_key')),
    );
    t.is(rng.remaining, 0);
  });

  test(`${v.case}: our server sends the reference's bytes and accepts its client`, async (t) => {
    const { server, rng } = makeServer(v, requested ? [1, 2, 3] : [1, 2, 3, 4]);
    const hs = server.accept();
    const siaa = await hs.receive(wireBytes(v, 'ClientInit'));
    t.is(sendData(siaa), toHex(wireBytes(v, 'ServerInitAndAttest')));
    const fin = await hs.receive(wireBytes(v, 'Identity_ClientAttest'));
    if (fin.kind !== 'done')
      return t.fail(`server ended ${fin.kind}: ${fin.kind === 'failed' ? fin.error.message : ''}`);
    t.is(sendData(fin), toHex(wireBytes(v, 'Identity_ServerFinished')));
    t.is(toHex(fin.result.pseudonym), toHex(h(v.raw, 'result.client_pseudonym')));
    t.is(toHex(fin.result.identity), toHex(h(v.raw, 'result.assigned_id')));
    t.is(rng.remaining, 0);
  });

  test(`${v.case}: the longterm key is drawn like the reference (client draw 2)`, (t) => {
    const signer = SoftwareP256Signer.generate(new ReplayRng(v.draws.client, [2]));
    t.is(toHex(signer.publicKey), toHex(h(v.raw, 'client_ephemeral_and_longterm.longterm_public_key')));
    t.is(toHex(signer.toKeyFile()), toHex(h(v.raw, 'result.longterm_private_key_file_der')));
    t.is(toHex(p256PublicKey(drawBytes(v.draws.client, 2))), toHex(signer.publicKey));
  });
}

test('error_wrong_gpk: our client sends the reference bytes; our server answers with Error', async (t) => {
  const v = loadVector('error_wrong_gpk.json');
  const { client } = makeClient(v, { indices: [1, 3, 4, 5, 6, 7] });
  t.is(sendData(client.start()), toHex(wireBytes(v, 'ClientInit')));
  t.is(
    sendData(await client.receive(wireBytes(v, 'ServerInitAndAttest'))),
    toHex(wireBytes(v, 'Identity_ClientAttest')),
  );
  const end = await client.receive(fromHex(ERROR_MSG));
  t.like(end, { kind: 'failed', error: { code: 'RECEIVED_ERROR' } });
  t.is(sendData(end), '');

  const { server } = makeServer(v, [1, 2, 3]);
  const hs = server.accept();
  t.is(sendData(await hs.receive(wireBytes(v, 'ClientInit'))), toHex(wireBytes(v, 'ServerInitAndAttest')));
  const fin = await hs.receive(wireBytes(v, 'Identity_ClientAttest'));
  t.like(fin, { kind: 'failed', error: { code: 'DAA_REJECTED' } });
  t.is(sendData(fin), toHex(h(v.raw, 'error_message.hex')));
});

test('error_unknown_root: our client sends Error after ServerInitAndAttest; our server stops silently', async (t) => {
  const v = loadVector('error_unknown_root.json');
  const { client } = makeClient(v, { indices: [1, 3] });
  t.is(sendData(client.start()), toHex(wireBytes(v, 'ClientInit')));
  const end = await client.receive(wireBytes(v, 'ServerInitAndAttest'));
  t.like(end, { kind: 'failed', error: { code: 'UNKNOWN_ROOT', stage: 'ServerInitAndAttest' } });
  t.is(sendData(end), toHex(h(v.raw, 'error_message.hex')));

  const { server } = makeServer(v, [1, 2, 3]);
  const hs = server.accept();
  t.is(sendData(await hs.receive(wireBytes(v, 'ClientInit'))), toHex(wireBytes(v, 'ServerInitAndAttest')));
  const fin = await hs.receive(fromHex(ERROR_MSG));
  t.like(fin, { kind: 'failed', error: { code: 'RECEIVED_ERROR' } });
  t.is(sendData(fin), '');
});

test('error_bad_server_signature: our client rejects signature_s (and sends a real Error); our server answers the tool garbage with Error', async (t) => {
  const v = loadVector('error_bad_server_signature.json');
  const { client } = makeClient(v, { indices: [1, 3] });
  t.is(sendData(client.start()), toHex(wireBytes(v, 'ClientInit')));
  const end = await client.receive(wireBytes(v, 'ServerInitAndAttest'));
  t.like(end, { kind: 'failed', error: { code: 'BAD_SERVER_SIGNATURE' } });
  t.is(sendData(end), ERROR_MSG);

  const { server } = makeServer(v, [1, 2, 3]);
  const hs = server.accept();
  t.is(sendData(await hs.receive(wireBytes(v, 'ClientInit'))), toHex(wireBytes(v, 'ServerInitAndAttest')));
  const garbage = v.wire.find(
    (w) => w.direction === 'client->server' && w.hex !== toHex(wireBytes(v, 'ClientInit')),
  );
  t.is(garbage?.hex, '826926fe');
  const fin = await hs.receive(fromHex(garbage!.hex));
  t.like(fin, { kind: 'failed', error: { code: 'BAD_MESSAGE' } });
  t.is(sendData(fin), toHex(h(v.raw, 'error_message.hex')));
  t.true(equalBytes(fromHex(ERROR_MSG), h(v.raw, 'error_message.hex')));
});
