// In-memory PkiRegistry for unit tests of the PKI policy and endpoint (the real one is the SQL
// registry, tested by the registry suite on SQLite and PostgreSQL). Transactions run one at a time
// and are rolled back (a snapshot restored) when the callback throws.
import { createHash } from 'node:crypto';
import { parseCertificate } from '../../protocol/pki/certificate.ts';
import type {
  CaRecord,
  CaSummary,
  CertDevice,
  NewCa,
  PkiAuditInput,
  PkiRegistry,
  PkiRegistryTx,
} from '../../server-stub/registry/pki-registry.ts';

export class MemoryPkiRegistry implements PkiRegistry {
  cas: CaRecord[] = [];
  devices: CertDevice[] = [];
  audit: PkiAuditInput[] = [];
  crls = new Map<number, Set<string>>();
  networks = new Map<number, Uint8Array>([[1, Uint8Array.of(0xfd, 0, 0, 0, 0, 0, 0, 1)]]);
  takenIdentities: Uint8Array[] = [];
  private queue: Promise<unknown> = Promise.resolve();

  constructor(private readonly now: () => number = Date.now) {}

  async listCas(): Promise<CaSummary[]> {
    return this.cas.map((c) => ({
      ...c,
      devices: this.devices.filter((d) => d.caId === c.id).length,
      revokedDevices: this.devices.filter((d) => d.caId === c.id && d.status === 'revoked').length,
      crlEntries: this.crls.get(c.id)?.size ?? 0,
      crlThisUpdate: null,
    }));
  }

  async addCa(input: NewCa): Promise<CaRecord> {
    const cert = parseCertificate(input.der);
    const ca: CaRecord = {
      id: this.cas.length + 1,
      name: input.name,
      fingerprint: createHash('sha256').update(input.der).digest('hex'),
      der: input.der,
      subject: cert.subject,
      notBefore: cert.notBefore,
      notAfter: cert.notAfter,
      networkId: typeof input.network === 'number' ? input.network : 1,
      maxDevices: input.maxDevices,
      status: 'active',
      isVerified: false,
      createdAt: this.now(),
    };
    this.cas.push(ca);
    return ca;
  }

  async findCa(ref: string): Promise<CaRecord | undefined> {
    return this.cas.find((c) => c.name === ref || String(c.id) === ref || c.fingerprint === ref);
  }

  private ca(id: number): CaRecord {
    const c = this.cas.find((x) => x.id === id);
    if (!c) throw new Error(`no CA ${id}`);
    return c;
  }

  async revokeCa(id: number): Promise<CaRecord> {
    this.ca(id).status = 'revoked';
    return this.ca(id);
  }

  async markCaVerified(id: number): Promise<CaRecord> {
    this.ca(id).isVerified = true;
    return this.ca(id);
  }

  async putCrl(
    caId: number,
    crl: Parameters<PkiRegistry['putCrl']>[1],
  ): Promise<{ replaced: boolean; entries: number }> {
    const replaced = this.crls.has(caId);
    this.crls.set(caId, new Set(crl.serials));
    return { replaced, entries: crl.serials.length };
  }

  async listCertDevices(): Promise<CertDevice[]> {
    return this.devices.map((d) => ({ ...d }));
  }

  async getCertDeviceByIdentity(identity: Uint8Array): Promise<CertDevice | undefined> {
    return this.devices.find((d) => Buffer.from(d.identity).equals(identity));
  }

  private device(id: number): CertDevice {
    const d = this.devices.find((x) => x.id === id);
    if (!d) throw new Error(`no device ${id}`);
    return d;
  }

  async revokeCertDevice(id: number): Promise<CertDevice> {
    this.device(id).status = 'revoked';
    return this.device(id);
  }

  async setCertDeviceAllowRekey(id: number, allow: boolean): Promise<CertDevice> {
    this.device(id).allowRekey = allow;
    return this.device(id);
  }

  withPkiTransaction<T>(fn: (tx: PkiRegistryTx) => Promise<T>): Promise<T> {
    const run = async (): Promise<T> => {
      const snapshot = JSON.stringify({ d: this.devices, a: this.audit }, (_k, v: unknown) =>
        v instanceof Uint8Array ? { bytes: Array.from(v) } : v,
      );
      try {
        return await fn(this.tx());
      } catch (e) {
        const back = JSON.parse(snapshot, (_k, v: unknown) =>
          v && typeof v === 'object' && 'bytes' in v ? Uint8Array.from((v as { bytes: number[] }).bytes) : v,
        ) as { d: CertDevice[]; a: PkiAuditInput[] };
        this.devices = back.d;
        this.audit = back.a;
        throw e;
      }
    };
    const p = this.queue.then(run, run);
    this.queue = p.catch(() => undefined);
    return p;
  }

  private tx(): PkiRegistryTx {
    return {
      getCa: async (id) => this.cas.find((c) => c.id === id),
      getNetworkPrefix: async (id) => this.networks.get(id)!,
      countCaDevices: async (caId) => this.devices.filter((d) => d.caId === caId).length,
      getCertDeviceByKey: async (networkId, fp) =>
        this.devices.find((d) => d.networkId === networkId && d.keyFingerprint === fp),
      findRekeyable: async (caId, subject) =>
        this.devices.find((d) => d.caId === caId && d.subject === subject && d.allowRekey),
      isIdentityTaken: async (identity) =>
        [...this.devices.map((d) => d.identity), ...this.takenIdentities].some((i) =>
          Buffer.from(i).equals(identity),
        ),
      insertCertDevice: async (d) => {
        const at = this.now();
        const row: CertDevice = {
          ...d,
          id: this.devices.length + 1,
          status: 'active',
          allowRekey: false,
          firstEnrolledAt: at,
          lastEnrolledAt: at,
          enrollCount: 1,
          lastSource: d.source,
        };
        delete (row as Partial<{ source: string }>).source;
        this.devices.push(row);
        return row;
      },
      touchCertDevice: async (id, cert, caId, method, source) => {
        Object.assign(this.device(id), cert, {
          caId,
          method,
          lastSource: source,
          lastEnrolledAt: this.now(),
        });
        this.device(id).enrollCount++;
      },
      rekeyCertDevice: async (id, fp) => {
        Object.assign(this.device(id), { keyFingerprint: fp, allowRekey: false });
      },
      isSerialRevoked: async (caId, serial) => this.crls.get(caId)?.has(serial) ?? false,
      appendPkiAudit: async (e) => {
        this.audit.push(e);
      },
    };
  }
}
