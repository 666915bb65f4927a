// XTT 0.12 handshake CPU cost per side with software keys: the time spent inside the
// client's start()/receive() and inside the server handshake's receive() for one complete
// identity handshake, in-process (no I/O), suite 1, real ECDAA (the client signs, the server
// verifies with pairings) and sealed cookies. Also the same without DAA (fake signer/verifier) to
// show what the XTT part itself costs. Medians in milliseconds; figures only.
import { readFile } from 'node:fs/promises';
import { performance } from 'node:perf_hooks';
import { shake256 } from '@noble/hashes/sha3.js';
import { concatBytes, equalBytes } from '../protocol/util/bytes.ts';
import { systemRng } from '../protocol/util/rng.ts';
import { issueServerCertificate } from '../protocol/xtt/certificates.ts';
import { XttClient, type ClientStep } from '../protocol/xtt/client.ts';
import { SealedCookieStrategy } from '../protocol/xtt/cookie.ts';
import { XttServer, type ServerStep } from '../protocol/xtt/server.ts';
import { SoftwareP256Signer, type DaaSigner, type ServerPolicy } from '../protocol/xtt/signers.ts';
import { SoftwareDaaSigner } from '../protocol/xtt/software-daa-signer.ts';
import { SoftwareDaaVerifier } from '../protocol/xtt/software-daa-verifier.ts';
import { emit, median, round } from './stats.ts';

// The reference's sample DAA member (xaptum/xtt data/client), from test/vectors/xtt-0.12-sample-data.
async function sampleDaa(): Promise<{ signer: DaaSigner; verifier: SoftwareDaaVerifier }> {
  const dir = new URL('../test/vectors/xtt-0.12-sample-data/client/', import.meta.url);
  const read = async (f: string) => new Uint8Array(await readFile(new URL(f, dir)));
  const files = {
    secretKey: await read('daa_secretkey.bin'),
    credential: await read('daa_cred.bin'),
    gpk: await read('daa_gpk.bin'),
    basename: await read('basename.bin'),
  };
  return {
    signer: new SoftwareDaaSigner(files, systemRng),
    verifier: new SoftwareDaaVerifier([{ gpk: files.gpk, basename: files.basename }]),
  };
}

function fakeDaa(): { signer: DaaSigner; verifyDaa: ServerPolicy['verifyDaa'] } {
  const gid = new Uint8Array(32).fill(7);
  const sig = (m: Uint8Array) => shake256(concatBytes(gid, m), { dkLen: 421 });
  return {
    signer: { gid, basename: new TextEncoder().encode('BASENAME'), sign: (m) => Promise.resolve(sig(m)) },
    verifyDaa: (r) =>
      Promise.resolve(
        equalBytes(r.signature, sig(r.message))
          ? { ok: true, pseudonym: new Uint8Array(65) }
          : { ok: false, reason: 'bad' },
      ),
  };
}

async function measure(
  daa: DaaSigner,
  verifyDaa: ServerPolicy['verifyDaa'],
  n: number,
): Promise<{ client: number[]; server: number[] }> {
  const root = SoftwareP256Signer.generate(systemRng);
  const rootId = systemRng.bytes(16);
  const serverKey = SoftwareP256Signer.generate(systemRng);
  const certificate = issueServerCertificate({
    rootId,
    rootPrivateKey: root.toKeyFile().subarray(7, 39),
    serverPublicKey: serverKey.publicKey,
    rng: systemRng,
  });
  const policy: ServerPolicy = {
    verifyDaa,
    assignIdentity: () => Promise.resolve({ ok: true, id: systemRng.bytes(16) }),
  };
  const server = new XttServer({
    certificate,
    signer: serverKey,
    cookies: new SealedCookieStrategy({ rng: systemRng }),
    policy,
    rng: systemRng,
  });
  const longterm = SoftwareP256Signer.generate(systemRng);
  const client: number[] = [];
  const srv: number[] = [];
  for (let i = 0; i < n + 2; i++) {
    const c = new XttClient({
      suite: 1,
      roots: [{ rootId, publicKey: root.publicKey }],
      longterm,
      daa,
      rng: systemRng,
    });
    const hs = server.accept();
    let tc = 0;
    let ts = 0;
    let t0 = performance.now();
    let cs: ClientStep = c.start();
    tc += performance.now() - t0;
    for (;;) {
      if (cs.kind !== 'send') throw new Error(`client ${cs.kind}`);
      t0 = performance.now();
      const ss: ServerStep = await hs.receive(cs.data);
      ts += performance.now() - t0;
      if (ss.kind === 'done' || ss.kind === 'failed') {
        if (ss.kind === 'failed' || !ss.data) throw new Error('server failed');
        t0 = performance.now();
        cs = await c.receive(ss.data);
        tc += performance.now() - t0;
        if (cs.kind !== 'done') throw new Error('client did not finish');
        break;
      }
      if (ss.kind !== 'send') throw new Error(`server ${ss.kind}`);
      t0 = performance.now();
      cs = await c.receive(ss.data);
      tc += performance.now() - t0;
    }
    if (i >= 2) {
      client.push(tc);
      srv.push(ts);
    }
  }
  return { client, server: srv };
}

export async function run(): Promise<void> {
  const real = await sampleDaa();
  const r = await measure(real.signer, real.verifier.verifyDaa, 15);
  emit({
    bench: 'xtt.handshake.client',
    unit: 'ms',
    median: round(median(r.client)),
    n: r.client.length,
    daa: 'ecdaa software sign',
  });
  emit({
    bench: 'xtt.handshake.server',
    unit: 'ms',
    median: round(median(r.server)),
    n: r.server.length,
    daa: 'ecdaa verify (pairings)',
  });
  const fake = fakeDaa();
  const f = await measure(fake.signer, fake.verifyDaa, 30);
  emit({
    bench: 'xtt.handshake.client.without-daa',
    unit: 'ms',
    median: round(median(f.client)),
    n: f.client.length,
  });
  emit({
    bench: 'xtt.handshake.server.without-daa',
    unit: 'ms',
    median: round(median(f.server)),
    n: f.server.length,
  });
}
