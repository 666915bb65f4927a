// factory/device-state.ts assessInventory: every classification branch on inventories built from real
// ECDAA material (a software member joined to a fresh issuer), without a TPM.
import test from 'ava';
import {
  assessInventory,
  credentialMatchesGroup,
  PROVISIONED_OBJECTS,
  type NvObjectState,
  type ProvisionedObject,
  type TpmInventory,
} from '../../../factory/device-state.ts';
import {
  createIssuer,
  createJoinRequest,
  decodeCredential,
  decodeGroupPublicKey,
  encodeCredential,
  encodeCredentialSignature,
  encodeG1,
  encodeGroupPublicKey,
  groupId,
  issueCredential,
} from '../../../protocol/ecdaa/index.ts';
import { toHex } from '../../../protocol/util/bytes.ts';
import { systemRng } from '../../../protocol/util/rng.ts';
import { NV_INDEX } from '../../../tpm/nv-layout.ts';

const WRITTEN = 0x20000000;
const REFERENCE = 0x00060006;

function member(sk: bigint, issuer = createIssuer(systemRng)) {
  const nonce = systemRng.bytes(32);
  const req = createJoinRequest(sk, nonce, systemRng);
  const { credential, credentialSignature } = issueCredential(issuer.secretKey, req, nonce, systemRng);
  return {
    publicKey: encodeG1(req.Q),
    objects: {
      basename: new TextEncoder().encode('BASENAME'),
      gpk: encodeGroupPublicKey(issuer.publicKey.gpk),
      rootXttCert: Uint8Array.from({ length: 81 }, (_, i) => (i === 16 ? 4 : i)),
      credentialSignature: encodeCredentialSignature(credentialSignature),
      credential: encodeCredential(credential),
    } as Record<ProvisionedObject, Uint8Array>,
  };
}

function written(name: ProvisionedObject, data: Uint8Array): NvObjectState {
  return {
    index: NV_INDEX[name],
    defined: true,
    size: data.length,
    attributes: REFERENCE | WRITTEN,
    written: true,
    referenceAttributes: true,
    data,
  };
}

function absent(name: ProvisionedObject): NvObjectState {
  return {
    index: NV_INDEX[name],
    defined: false,
    size: 0,
    attributes: 0,
    written: false,
    referenceAttributes: false,
    data: undefined,
  };
}

function complete(m: ReturnType<typeof member>): TpmInventory {
  const nv = {} as Record<ProvisionedObject, NvObjectState>;
  for (const n of PROVISIONED_OBJECTS) nv[n] = written(n, m.objects[n]);
  return { key: { present: true, publicKey: m.publicKey, problem: undefined }, nv };
}

const issuer = createIssuer(systemRng);
const device = member(1234567n, issuer);

test('complete and verifying: provisioned, with the gid and root id', (t) => {
  const a = assessInventory(complete(device));
  t.is(a.state, 'provisioned');
  t.true(a.credentialVerifies);
  t.is(a.gid, toHex(groupId(device.objects.gpk, device.objects.basename)));
  t.is(a.rootId, toHex(device.objects.rootXttCert.subarray(0, 16)));
  t.deepEqual(a.problems, []);
});

test('empty TPM', (t) => {
  const nv = {} as Record<ProvisionedObject, NvObjectState>;
  for (const n of PROVISIONED_OBJECTS) nv[n] = absent(n);
  t.is(
    assessInventory({ key: { present: false, publicKey: undefined, problem: undefined }, nv }).state,
    'empty',
  );
});

test('credential not written (any earlier step): partial', (t) => {
  for (let upto = 0; upto < PROVISIONED_OBJECTS.length; upto++) {
    const inv = complete(device);
    PROVISIONED_OBJECTS.slice(upto).forEach((n) => (inv.nv[n] = absent(n)));
    t.is(assessInventory(inv).state, 'partial', `objects written: ${upto}`);
    t.is(
      assessInventory({ ...inv, key: { present: false, publicKey: undefined, problem: undefined } }).state,
      upto === 0 ? 'empty' : 'partial',
    );
  }
  const definedOnly = complete(device);
  definedOnly.nv.credential = {
    ...definedOnly.nv.credential,
    attributes: REFERENCE,
    written: false,
    data: undefined,
  };
  t.is(assessInventory(definedOnly).state, 'partial');
});

test('credential written but the key is another device key: broken, does not verify', (t) => {
  const inv = complete(device);
  const other = member(7654321n, issuer);
  const a = assessInventory({
    ...inv,
    key: { present: true, publicKey: other.publicKey, problem: undefined },
  });
  t.is(a.state, 'broken');
  t.false(a.credentialVerifies);
  t.regex(a.problems.join(), /does not verify/);
});

test('credential written but from another group: broken', (t) => {
  const inv = complete(device);
  inv.nv.gpk = written('gpk', member(1n).objects.gpk);
  t.is(assessInventory(inv).state, 'broken');
});

test('credential written, key missing or an object missing / wrong size: broken with reasons', (t) => {
  const noKey = complete(device);
  t.regex(
    assessInventory({
      ...noKey,
      key: { present: false, publicKey: undefined, problem: undefined },
    }).problems.join(),
    /no ECDAA key at 0x81800000/,
  );
  const noRoot = complete(device);
  noRoot.nv.rootXttCert = absent('rootXttCert');
  const a = assessInventory(noRoot);
  t.is(a.state, 'broken');
  t.regex(a.problems.join(), /NV 0x01410009 \(rootXttCert\) missing/);
  const shortSig = complete(device);
  shortSig.nv.credentialSignature = written('credentialSignature', new Uint8Array(63));
  t.regex(
    assessInventory(shortSig).problems.join(),
    /0x01410002 \(credentialSignature\) is 63 bytes, expected 64/,
  );
  const garbage = complete(device);
  garbage.nv.credential = written('credential', new Uint8Array(260));
  const g = assessInventory(garbage);
  t.is(g.state, 'broken');
  t.regex(g.problems.join(), /do not decode/);
});

test('foreign attributes or a non-ECDAA key at 0x81800000: foreign', (t) => {
  const inv = complete(device);
  inv.nv.gpk = {
    ...inv.nv.gpk,
    attributes: 0x40040001 | WRITTEN,
    referenceAttributes: false,
    data: undefined,
  };
  const a = assessInventory(inv);
  t.is(a.state, 'foreign');
  t.regex(a.problems.join(), /NV 0x01410000 \(gpk\): attributes 0x60040001, not the reference 0x00060006/);
  const key = assessInventory({
    ...complete(device),
    key: { present: true, publicKey: undefined, problem: 'not a BN_P256 key' },
  });
  t.is(key.state, 'foreign');
  t.regex(key.problems.join(), /0x81800000: not a BN_P256 key/);
});

test('reference layout without a credential signature: provisioned, checked by pairings only', (t) => {
  const inv = complete(device);
  inv.nv.credentialSignature = absent('credentialSignature');
  const a = assessInventory(inv);
  t.is(a.state, 'provisioned');
  t.true(a.credentialVerifies);
  t.false(a.credentialBoundToKey);
  t.true(assessInventory(complete(device)).credentialBoundToKey);
  // A credential of another group fails the pairing check.
  const foreignCred = complete(device);
  foreignCred.nv.credentialSignature = absent('credentialSignature');
  foreignCred.nv.credential = written('credential', member(99n).objects.credential);
  const b = assessInventory(foreignCred);
  t.is(b.state, 'broken');
  t.false(b.credentialVerifies);
});

test('credentialMatchesGroup: the pairing equations hold for an issued credential only', (t) => {
  const other = member(5n);
  const group = decodeGroupPublicKey(device.objects.gpk);
  t.true(credentialMatchesGroup(decodeCredential(device.objects.credential), group));
  t.false(credentialMatchesGroup(decodeCredential(other.objects.credential), group));
  const c = decodeCredential(device.objects.credential);
  t.false(credentialMatchesGroup({ ...c, C: c.C.double() }, group));
});
