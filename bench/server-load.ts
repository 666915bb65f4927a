// Load generator for bench/server.bench.ts, run as its own process so its CPU is not the server's:
// many simulated devices with software keys run XTT handshakes against a running `enf-server start`
// over loopback TCP, `concurrency` at a time, and report rate and latency as one JSON line.
// DAA signing is split as a TPM splits it (TPM2_Commit ahead, TPM2_Sign at handshake time): each
// device precomputes its randomised credential and commitments (R, S, T, W, E, L, k: the six G1
// multiplications) before the timed phase, and at handshake time only hashes and computes
// s = k + c*sk. So the generator spends its share of the 2 cores on XTT, not on ECDAA, and the
// figures measure the server. Each precomputed commitment is used once (reusing k would leak sk).
// argv: JSON config file (see LoadConfig).
import { readFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import {
  decodeCredential,
  decodeScalar,
  encodeSignature,
  groupId,
  hashToG1,
  pseudonymOf,
  randomizeCredential,
  randomScalar,
  signatureChallenge,
  signatureChallengePrime,
  type Credential,
  type G1Point,
} from '../protocol/ecdaa/index.ts';
import { G1 } from '../protocol/ecdaa/curve.ts';
import { schnorrResponse } from '../protocol/ecdaa/schnorr.ts';
import { normalizeZ } from '@noble/curves/abstract/curve.js';
import { fromHex } from '../protocol/util/bytes.ts';
import { systemRng } from '../protocol/util/rng.ts';
import { SoftwareP256Signer, type DaaSigner } from '../protocol/xtt/signers.ts';
import { decodeRootCertificate } from '../protocol/xtt/certificates.ts';
import { XttClient } from '../protocol/xtt/client.ts';
import { runXttClientOverTcp } from '../agent/xtt-tcp-client.ts';

export interface LoadConfig {
  port: number;
  rootCertificate: string;
  /** longtermKey: the device's P-256 private key (hex), the same in every run: a server refuses a known device whose long-term key changed. */
  devices: { secretKey: string; credential: string; gpk: string; basename: string; longtermKey: string }[];
  concurrency: number;
  warmupHandshakes: number;
  measuredHandshakes: number;
}

interface Commitment {
  R: G1Point;
  S: G1Point;
  T: G1Point;
  W: G1Point;
  E: G1Point;
  L: G1Point;
  k: bigint;
}

/**
 * The points with Z = 1 (a TPM returns its commitments as affine points), made with one shared field
 * inversion: encoding them at handshake time then costs no inversion.
 */
function affine<T extends G1Point[]>(...points: T): T {
  return normalizeZ(G1, points) as T;
}

class PrecomputedDaaSigner implements DaaSigner {
  readonly gid: Uint8Array;
  readonly basename: Uint8Array;
  readonly #sk: bigint;
  readonly #cred: Credential;
  readonly #B: G1Point;
  readonly #K: G1Point;
  readonly #pool: Commitment[] = [];

  constructor(d: LoadConfig['devices'][number]) {
    this.basename = fromHex(d.basename);
    this.gid = groupId(fromHex(d.gpk), this.basename);
    this.#sk = decodeScalar(fromHex(d.secretKey));
    this.#cred = decodeCredential(fromHex(d.credential));
    [this.#B, this.#K] = affine(hashToG1(this.basename).point, pseudonymOf(this.#sk, this.basename));
  }

  precompute(n: number): void {
    for (let i = 0; i < n; i++) {
      const { R, S, T, W } = randomizeCredential(this.#cred, randomScalar(systemRng));
      const k = randomScalar(systemRng);
      const [r, s, t, w, e, l] = affine(R, S, T, W, S.multiply(k), this.#B.multiply(k));
      this.#pool.push({ R: r, S: s, T: t, W: w, E: e, L: l, k });
    }
  }

  sign(message: Uint8Array): Promise<Uint8Array> {
    const c0 = this.#pool.pop();
    if (!c0) return Promise.reject(new Error('precomputed commitments exhausted'));
    const { R, S, T, W, E, L, k } = c0;
    const cPrime = signatureChallengePrime({
      E,
      S,
      W,
      L,
      B: this.#B,
      K: this.#K,
      basename: this.basename,
      message,
    });
    const n = randomScalar(systemRng);
    const c = signatureChallenge(n, cPrime);
    const s = schnorrResponse(k, c, this.#sk);
    return Promise.resolve(encodeSignature({ c, s, R, S, T, W, n, K: this.#K }));
  }
}

async function main(): Promise<void> {
  const cfg = JSON.parse(readFileSync(process.argv[2]!, 'utf8')) as LoadConfig;
  const roots = [decodeRootCertificate(fromHex(cfg.rootCertificate))];
  const total = cfg.warmupHandshakes + cfg.measuredHandshakes;
  const devices = cfg.devices.map((d) => ({
    daa: new PrecomputedDaaSigner(d),
    longterm: SoftwareP256Signer.fromPrivateKey(fromHex(d.longtermKey), systemRng),
  }));
  // Slots run at different speeds, so a device may serve more than its share: precompute twice that.
  const perDevice = 2 * Math.ceil(total / devices.length) + 2;
  const t0 = performance.now();
  for (const d of devices) d.daa.precompute(perDevice);
  process.stderr.write(
    `load: precomputed ${perDevice * devices.length} commitments in ${Math.round(performance.now() - t0)} ms\n`,
  );

  // CPU time of this process (all its threads) over the measured handshakes; the bench reads the
  // server's CPU time when the "load: measuring" line arrives on stderr.
  let cpu0 = process.cpuUsage();
  let started = 0;
  let measuredStart = 0;
  let measuredEnd = 0;
  const latencies: number[] = [];
  let failures = 0;
  let firstFailure: string | undefined;
  const loop = async (slot: number) => {
    const device = devices[slot % devices.length]!;
    for (;;) {
      const n = started++;
      if (n >= total) return;
      if (n === cfg.warmupHandshakes) {
        measuredStart = performance.now();
        cpu0 = process.cpuUsage();
        process.stderr.write('load: measuring\n');
      }
      const t = performance.now();
      const client = new XttClient({
        suite: 1,
        roots,
        longterm: device.longterm,
        daa: device.daa,
        rng: systemRng,
      });
      const ok = await runXttClientOverTcp(client, {
        host: '127.0.0.1',
        port: cfg.port,
        connectTimeoutMs: 5000,
        handshakeTimeoutMs: 30_000,
        signal: new AbortController().signal,
      }).then(
        () => true,
        (err: unknown) => {
          // The first failure's reason goes to stderr (the bench shows it when the run fails).
          if (firstFailure === undefined) {
            firstFailure = err instanceof Error ? `${err.name}: ${err.message}` : String(err);
            process.stderr.write(`load: first failure (handshake ${n}): ${firstFailure}\n`);
          }
          return false;
        },
      );
      const dt = performance.now() - t;
      if (n >= cfg.warmupHandshakes) {
        latencies.push(dt);
        if (!ok) failures++;
        measuredEnd = performance.now();
      }
    }
  };
  await Promise.all(Array.from({ length: cfg.concurrency }, (_, i) => loop(i)));
  const seconds = (measuredEnd - measuredStart) / 1000;
  const cpu = process.cpuUsage(cpu0);
  const cpuMs = (cpu.user + cpu.system) / 1000;
  process.stdout.write(
    `${JSON.stringify({ handshakes: latencies.length, failures, seconds, latencies, cpuMs })}\n`,
  );
}

await main();
