// The OpenAPI 3.1 description of the management API (served at /api/v1/openapi.json). Built in code
// to keep the schemas short; test/unit/server-stub/http/openapi.test.ts checks that its paths and
// methods equal the router's table both ways and that real responses match the schemas.
import { API_ERRORS } from './errors.ts';
import type { Role } from './roles.ts';

type Schema = Record<string, unknown>;
const ref = (name: string): Schema => ({ $ref: `#/components/schemas/${name}` });
const str = (extra: Schema = {}): Schema => ({ type: 'string', ...extra });
const nullable = (s: Schema): Schema => ({ oneOf: [s, { type: 'null' }] });
const time = str({ format: 'date-time' });
const hexOf = (n: number): Schema => str({ pattern: `^[0-9a-f]{${n}}$` });
const obj = (properties: Record<string, Schema>, required = Object.keys(properties)): Schema => ({
  type: 'object',
  properties,
  required,
  additionalProperties: false,
});
const page = (item: string): Schema =>
  obj({ items: { type: 'array', items: ref(item) }, nextCursor: nullable(str()) });
const list = (item: string): Schema => obj({ items: { type: 'array', items: ref(item) } });

const deviceProps: Record<string, Schema> = {
  kind: str({ enum: ['daa'] }),
  id: hexOf(32),
  identity: str(),
  batch: str(),
  gid: hexOf(64),
  pseudonym: hexOf(130),
  longtermPublicKey: hexOf(130),
  status: str({ enum: ['active', 'revoked'] }),
  allowRekey: { type: 'boolean' },
  firstHandshakeAt: time,
  lastHandshakeAt: time,
  handshakeCount: { type: 'integer', minimum: 1 },
  lastSource: nullable(str()),
};

const certificateFacts: Record<string, Schema> = {
  subject: str(),
  issuer: str(),
  serial: str({ pattern: '^[0-9A-F]+$', description: 'upper-case hex' }),
  fingerprint: hexOf(64),
  notBefore: time,
  notAfter: time,
};
const certDeviceProps: Record<string, Schema> = {
  kind: str({ enum: ['certificate'] }),
  id: hexOf(32),
  identity: str(),
  ca: str({ description: 'name of the CA it last enrolled under' }),
  status: str({ enum: ['active', 'revoked'] }),
  allowRekey: { type: 'boolean' },
  firstHandshakeAt: time,
  lastHandshakeAt: time,
  handshakeCount: { type: 'integer', minimum: 1 },
  lastSource: nullable(str()),
  certificate: ref('CertDevice'),
};
const sourcesProps: Record<string, Schema> = {
  sources: {
    type: 'array',
    items: obj({
      address: str(),
      lastSeenAt: time,
      count: { type: 'integer' },
      geolocation: nullable(str()),
    }),
  },
  geolocation: nullable(str()),
};
const caProps: Record<string, Schema> = {
  id: { type: 'integer', minimum: 1 },
  name: str(),
  fingerprint: hexOf(64),
  subject: str(),
  notBefore: time,
  notAfter: time,
  networkId: { type: 'integer', minimum: 1 },
  maxDevices: nullable({ type: 'integer', minimum: 1 }),
  status: str({ enum: ['active', 'revoked'] }),
  verified: { type: 'boolean', description: 'possession of the CA key was proven' },
  createdAt: time,
};
const caCounts: Record<string, Schema> = {
  devices: { type: 'integer', minimum: 0 },
  revokedDevices: { type: 'integer', minimum: 0 },
  crlEntries: { type: 'integer', minimum: 0 },
  crlThisUpdate: nullable(time),
};

const tokenProps: Record<string, Schema> = {
  id: { type: 'integer', minimum: 1 },
  name: str(),
  organization: nullable(str()),
  user: nullable(str({ description: "the user it acts for; null: the organization's own" })),
  role: str({ enum: ['viewer', 'operator', 'admin', 'superadmin'] }),
  createdBy: str(),
  createdAt: time,
  expiresAt: nullable(time),
  lastUsedAt: nullable(time),
  revokedAt: nullable(time),
};

const schemas: Record<string, Schema> = {
  Error: obj({
    error: obj({ code: str({ enum: Object.keys(API_ERRORS) }), message: str(), field: str() }, [
      'code',
      'message',
    ]),
  }),
  Network: obj({
    id: { type: 'integer', minimum: 1 },
    name: str(),
    prefix: str({ pattern: '^[0-9a-f:]+/64$' }),
    createdAt: time,
  }),
  Organization: obj({ id: { type: 'integer', minimum: 1 }, name: str(), createdAt: time }),
  OrganizationList: list('Organization'),
  Overview: obj({
    organization: nullable(str()),
    since: time,
    days: { type: 'integer', minimum: 1, maximum: 366 },
    provisionedPerDay: {
      type: 'array',
      items: obj({ day: str({ format: 'date' }), count: { type: 'integer', minimum: 1 } }),
    },
    handshakes: {
      type: 'array',
      items: obj({
        outcome: str({ enum: ['provisioned', 'refused', 'failed'] }),
        reason: str(),
        count: { type: 'integer', minimum: 1 },
      }),
    },
    batches: {
      type: 'array',
      items: obj({
        name: str(),
        status: str({ enum: ['active', 'revoked'] }),
        provisioned: { type: 'integer', minimum: 0 },
        revoked: { type: 'integer', minimum: 0 },
        quota: { type: 'integer', minimum: 1 },
      }),
    },
    places: {
      type: 'array',
      items: obj({ geolocation: nullable(str()), count: { type: 'integer', minimum: 1 } }),
    },
  }),
  NewNetwork: obj({ name: str(), prefix: str({ examples: ['2001:db8:1:2::/64'] }) }),
  Batch: obj({
    gid: hexOf(64),
    name: str(),
    basename: str({ contentEncoding: 'base64' }),
    gpk: str({ contentEncoding: 'base64' }),
    network: nullable(str()),
    status: str({ enum: ['active', 'revoked'] }),
    createdAt: time,
    counts: obj({
      issued: { type: 'integer' },
      provisioned: nullable({ type: 'integer' }),
      revoked: nullable({ type: 'integer' }),
    }),
  }),
  NewBatch: {
    description: 'Either qr (the label text) or gpk and basename (base64). name defaults to the label name.',
    oneOf: [
      obj(
        {
          qr: str(),
          size: { type: 'integer', minimum: 1 },
          name: str(),
          network: { oneOf: [str(), { type: 'integer' }] },
        },
        ['qr', 'size'],
      ),
      obj(
        {
          gpk: str(),
          basename: str(),
          size: { type: 'integer', minimum: 1 },
          name: str(),
          network: { oneOf: [str(), { type: 'integer' }] },
        },
        ['gpk', 'basename', 'size', 'name'],
      ),
    ],
  },
  Label: obj({
    qr: str(),
    name: str(),
    basename: str({ contentEncoding: 'base64' }),
    gpk: str({ contentEncoding: 'base64' }),
  }),
  Device: {
    description:
      "kind 'daa': provisioned by XTT in a batch; kind 'certificate': enrolled by a CA's certificate",
    oneOf: [obj(deviceProps), obj(certDeviceProps)],
  },
  DeviceDetail: {
    oneOf: [obj({ ...deviceProps, ...sourcesProps }), obj({ ...certDeviceProps, ...sourcesProps })],
  },
  CertDevice: obj({
    identity: str(),
    caId: { type: 'integer', minimum: 1 },
    networkId: { type: 'integer', minimum: 1 },
    ...certificateFacts,
    keyFingerprint: hexOf(64),
    method: str({ enum: ['tls-client-certificate', 'signed-challenge'] }),
    status: str({ enum: ['active', 'revoked'] }),
    allowRekey: { type: 'boolean' },
    firstEnrolledAt: time,
    lastEnrolledAt: time,
    enrollCount: { type: 'integer', minimum: 1 },
    lastSource: nullable(str()),
  }),
  Ca: obj({ ...caProps, ...caCounts }),
  NewCa: obj(
    {
      certificate: str({ description: 'CA certificate (root or intermediate): PEM or base64 DER' }),
      network: { oneOf: [str(), { type: 'integer' }] },
      name: str({ description: 'default: the subject CN' }),
      maxDevices: nullable({ type: 'integer', minimum: 1 }),
      verificationCertificate: str({
        description: 'a certificate the CA issued with the registration code as its CN (PEM or base64 DER)',
      }),
      unverified: { type: 'boolean', description: 'register without proof of the CA key' },
    },
    ['certificate', 'network'],
  ),
  RegistrationCode: obj({ registrationCode: hexOf(32), fingerprint: hexOf(64) }),
  CrlUpload: obj({
    replaced: { type: 'boolean' },
    entries: { type: 'integer', minimum: 0 },
    thisUpdate: time,
    ca: ref('Ca'),
  }),
  CaList: list('Ca'),
  AuditEntry: obj({
    id: { type: 'integer' },
    at: time,
    sourceAddress: str(),
    sourcePort: { type: 'integer', minimum: 0, maximum: 65535 },
    gid: nullable(hexOf(64)),
    pseudonym: nullable(hexOf(130)),
    suite: nullable({ type: 'integer' }),
    outcome: str({ enum: ['provisioned', 'refused', 'failed'] }),
    reason: str(),
    geolocation: nullable(str()),
    identity: nullable(str()),
    method: str({ enum: ['xtt', 'pki'] }),
    pki: nullable(
      obj({
        caId: nullable({ type: 'integer' }),
        subject: nullable(str()),
        serial: nullable(str()),
        fingerprint: nullable(hexOf(64)),
        keyFingerprint: nullable(hexOf(64)),
      }),
    ),
  }),
  OperatorAuditEntry: obj({
    id: { type: 'integer' },
    at: time,
    organizationId: nullable({ type: 'integer' }),
    actor: str({ description: 'token-file:NAME, user:NAME, token:NAME or cli:<OS user>' }),
    action: str({ description: 'e.g. network.add, batch.revoke, device.allow-rekey, ca.crl' }),
    objectType: str({ enum: ['organization', 'network', 'batch', 'device', 'ca', 'user', 'token'] }),
    objectId: str({ description: 'network/CA/organization id, batch gid or device identity (hex)' }),
    objectName: nullable(str()),
    source: str({ description: "the client's address, or cli" }),
    detail: nullable({ type: 'object' }),
  }),
  OperatorAuditPage: page('OperatorAuditEntry'),
  NetworkList: list('Network'),
  BatchList: list('Batch'),
  SignIn: obj({ name: str(), password: str({ format: 'password' }) }),
  Session: obj({
    actor: str({ description: 'who acts: user:NAME, token:NAME or token-file:NAME' }),
    user: nullable(str()),
    role: str({ enum: ['viewer', 'operator', 'admin', 'superadmin'] }),
    organization: nullable(str()),
    csrfToken: nullable(str({ description: 'send as X-CSRF-Token with every state-changing request' })),
    idleTimeoutSeconds: nullable({ type: 'integer', minimum: 1 }),
  }),
  SignedOut: obj({ signedOut: { type: 'boolean' } }),
  User: obj({
    id: { type: 'integer', minimum: 1 },
    name: str(),
    organization: nullable(str()),
    role: str({ enum: ['viewer', 'operator', 'admin', 'superadmin'] }),
    disabled: { type: 'boolean' },
    createdAt: time,
    passwordChangedAt: time,
  }),
  NewUser: obj(
    {
      name: str(),
      password: str({ format: 'password', minLength: 10 }),
      role: str({ enum: ['viewer', 'operator', 'admin', 'superadmin'] }),
      organization: str({ description: 'superadmin callers only; others create in their own' }),
    },
    ['name', 'password', 'role'],
  ),
  UserList: list('User'),
  ApiToken: obj({ ...tokenProps }),
  NewApiTokenResult: obj({
    ...tokenProps,
    token: str({ description: 'the secret: shown in this answer only' }),
  }),
  NewApiToken: obj(
    {
      name: str(),
      role: str({
        enum: ['viewer', 'operator', 'admin', 'superadmin'],
        description: "default: the caller's",
      }),
      expiresAt: str({ description: 'ISO 8601 date or date-time; default: never' }),
      user: nullable(
        str({
          description:
            "admins: the user it acts for, or null for the organization's own token (default: the caller, or the organization for a token-file caller)",
        }),
      ),
      organization: str({ description: 'superadmin callers: the organization of an organization token' }),
    },
    ['name'],
  ),
  ApiTokenList: list('ApiToken'),
  DevicePage: page('Device'),
  AuditPage: page('AuditEntry'),
};

const errors = {
  '400': { $ref: '#/components/responses/Error' },
  '401': { $ref: '#/components/responses/Error' },
  '404': { $ref: '#/components/responses/Error' },
};
const json = (schema: string, status = '200', description = 'OK') => ({
  [status]: { description, content: { 'application/json': { schema: ref(schema) } } },
  ...errors,
});
const param = (name: string, description: string) => ({
  name,
  in: 'path',
  required: true,
  description,
  schema: str(),
});
const query = (name: string, description: string, schema: Schema = str()) => ({
  name,
  in: 'query',
  required: false,
  description,
  schema,
});
const body = (schema: string | Schema, type = 'application/json') => ({
  required: true,
  content: { [type]: { schema: typeof schema === 'string' ? ref(schema) : schema } },
});
const timeQ = (name: string, what: string) => query(name, `${what} (epoch ms or ISO 8601)`);
const pageQ = [
  query('limit', '1..1000, default 100', { type: 'integer' }),
  query('cursor', 'nextCursor of the previous page'),
];
const NET = param('network', 'network name or id');
const BATCH = param('batch', 'batch name or hex gid');
const DEVICE = param('device', 'identity: 32 hex digits or IPv6 text');
const CA = param('ca', "CA name (in the caller's organization), id or certificate fingerprint");
const USER = param('user', 'user name or id');
const conflict = { '409': { $ref: '#/components/responses/Error' } };
const image = {
  required: true,
  content: Object.fromEntries(
    ['image/png', 'image/jpeg'].map((t) => [t, { schema: { type: 'string', contentMediaType: t } }]),
  ),
};

const DOCUMENT = {
  openapi: '3.1.0',
  info: {
    title: 'ENF server management API',
    version: '1.0.0',
    description:
      'Networks, batches, CAs (PKI option), devices and the handshake audit of an enf-server. Errors are {"error":{code,message,field}}. Each operation names the least role its token needs in x-required-role (viewer < operator < admin < superadmin); a weaker token gets 403 FORBIDDEN. A token bound to an organization sees only that organization: another\'s objects answer 404 as if they did not exist. Every change is recorded in the operator audit in its own transaction: if the entry cannot be written the change is not made and the answer is 503 UNAVAILABLE with field operatorAudit.',
  },
  security: [{ bearer: [] }, { session: [] }],
  paths: {
    '/api/v1/organizations': {
      get: {
        summary: "List organizations: every one for a superadmin, the token's own for others",
        responses: json('OrganizationList'),
      },
      post: {
        summary: 'Create an organization (superadmin)',
        requestBody: body(obj({ name: str() })),
        responses: { ...json('Organization', '201', 'Created'), ...conflict },
      },
    },
    '/api/v1/organizations/{organization}': {
      parameters: [param('organization', 'organization name or id')],
      get: {
        summary: 'Show an organization (only its own for an organization token)',
        responses: json('Organization'),
      },
    },
    '/api/v1/overview': {
      get: {
        summary:
          'Figures for the overview page: devices provisioned per day, handshakes by outcome and reason, batches against their quota, handshakes per geolocation',
        parameters: [
          query('days', 'the last N UTC days, today included: 1..366, default 30', { type: 'integer' }),
          query('organization', 'superadmin: this organization (name or id) instead of all'),
        ],
        responses: json('Overview'),
      },
    },
    '/api/v1/networks': {
      get: { summary: 'List networks', responses: json('NetworkList') },
      post: {
        summary: 'Create a network with an IPv6 /64 prefix',
        requestBody: body('NewNetwork'),
        responses: { ...json('Network', '201', 'Created'), '409': { $ref: '#/components/responses/Error' } },
      },
    },
    '/api/v1/networks/{network}': {
      parameters: [NET],
      get: { summary: 'Show a network', responses: json('Network') },
      delete: {
        summary: 'Delete a network without batches',
        responses: {
          ...json('Network'),
          '409': { $ref: '#/components/responses/Error' },
        },
      },
    },
    '/api/v1/batches': {
      get: { summary: 'List batches with counts', responses: json('BatchList') },
      post: {
        summary: 'Register a batch from its GPK or its QR label text',
        requestBody: body('NewBatch'),
        responses: { ...json('Batch', '201', 'Created'), '409': { $ref: '#/components/responses/Error' } },
      },
    },
    '/api/v1/batches/from-image': {
      post: {
        summary: 'Register a batch from a photo or scan of its QR label (PNG or JPEG)',
        parameters: [
          query('size', 'issued size', { type: 'integer' }),
          query('network', 'network name or id'),
          query('name', 'batch name (default: from the label)'),
        ],
        requestBody: image,
        responses: {
          ...json('Batch', '201', 'Created'),
          '409': { $ref: '#/components/responses/Error' },
          '413': { $ref: '#/components/responses/Error' },
          '415': { $ref: '#/components/responses/Error' },
        },
      },
    },
    '/api/v1/labels/scan': {
      post: {
        summary: 'Decode a photo or scan (PNG or JPEG) of a QR label (registers nothing)',
        requestBody: image,
        responses: {
          ...json('Label'),
          '413': { $ref: '#/components/responses/Error' },
          '415': { $ref: '#/components/responses/Error' },
        },
      },
    },
    '/api/v1/batches/{batch}': {
      parameters: [BATCH],
      get: { summary: 'Show a batch with counts', responses: json('Batch') },
    },
    '/api/v1/batches/{batch}/network': {
      parameters: [BATCH],
      put: {
        summary: 'Associate the batch with a network',
        requestBody: body(obj({ network: { oneOf: [str(), { type: 'integer' }] } })),
        responses: json('Batch'),
      },
    },
    '/api/v1/batches/{batch}/revoke': {
      parameters: [BATCH],
      post: { summary: 'Revoke a batch: all its devices are refused', responses: json('Batch') },
    },
    '/api/v1/devices': {
      get: {
        summary: 'List devices: DAA devices, then certificate devices',
        description:
          'DAA devices by first handshake then identity, then certificate devices by enrollment. Keyset paging: nextCursor names where the page ended (it stays valid when that device changes); it is bound to the filters and organization it was made with (limit aside), and used with others answers 400 VALIDATION, field cursor ("no longer matches this filter").',
        parameters: [
          query('kind', 'daa or certificate', str({ enum: ['daa', 'certificate'] })),
          query('batch', 'batch name or hex gid (DAA devices only)'),
          query('ca', "CA name (in the caller's organization), id or fingerprint (certificate devices only)"),
          query('status', 'active or revoked', str({ enum: ['active', 'revoked'] })),
          timeQ('since', 'first handshake at or after'),
          timeQ('until', 'first handshake before'),
          timeQ('seenSince', 'last handshake at or after'),
          ...pageQ,
        ],
        responses: json('DevicePage'),
      },
    },
    '/api/v1/devices/{device}': {
      parameters: [DEVICE],
      get: { summary: 'Show a device with its source addresses', responses: json('DeviceDetail') },
    },
    '/api/v1/devices/{device}/history': {
      parameters: [DEVICE],
      get: {
        summary: "The device's audited handshakes, newest first",
        parameters: pageQ,
        responses: json('AuditPage'),
      },
    },
    '/api/v1/devices/{device}/revoke': {
      parameters: [DEVICE],
      post: { summary: 'Revoke a device', responses: json('DeviceDetail') },
    },
    '/api/v1/devices/{device}/allow-rekey': {
      parameters: [DEVICE],
      put: {
        summary: 'Allow (once) or forbid a new long-term key',
        requestBody: body(obj({ allow: { type: 'boolean' } })),
        responses: json('DeviceDetail'),
      },
    },
    '/api/v1/audit': {
      get: {
        summary: 'Query the handshake audit, newest first',
        parameters: [
          timeQ('since', 'at or after'),
          timeQ('until', 'before'),
          query('batch', 'batch name or hex gid'),
          query(
            'outcome',
            'provisioned, refused or failed',
            str({ enum: ['provisioned', 'refused', 'failed'] }),
          ),
          query('method', 'xtt (handshakes) or pki (enrollments)', str({ enum: ['xtt', 'pki'] })),
          query('device', 'device identity'),
          ...pageQ,
        ],
        responses: json('AuditPage'),
      },
    },
    '/api/v1/operator-audit': {
      get: {
        summary: 'Query the operator audit (who changed what, from where), newest first',
        parameters: [
          timeQ('since', 'at or after'),
          timeQ('until', 'before'),
          query('actor', 'exactly this actor, e.g. token-file:ci or cli:root'),
          query('action', 'exactly this action, e.g. batch.revoke'),
          query(
            'objectType',
            'organization, network, batch, device, ca, user or token',
            str({ enum: ['organization', 'network', 'batch', 'device', 'ca', 'user', 'token'] }),
          ),
          query('object', "the object's id as recorded (objectId)"),
          ...pageQ,
        ],
        responses: json('OperatorAuditPage'),
      },
    },
    '/api/v1/cas': {
      get: { summary: 'List registered CAs (PKI enrollment groups) with counts', responses: json('CaList') },
      post: {
        summary: 'Register a CA with a network, with proof of its key (or unverified: true)',
        requestBody: body('NewCa'),
        responses: {
          ...json('Ca', '201', 'Created'),
          ...conflict,
          '501': { $ref: '#/components/responses/Error' },
        },
      },
    },
    '/api/v1/cas/registration-code': {
      post: {
        summary: 'The CN a verification certificate from this CA must carry (registers nothing)',
        requestBody: body(obj({ certificate: str({ description: 'PEM or base64 DER' }) })),
        responses: { ...json('RegistrationCode'), '501': { $ref: '#/components/responses/Error' } },
      },
    },
    '/api/v1/cas/{ca}': {
      parameters: [CA],
      get: { summary: 'Show a CA with counts', responses: json('Ca') },
    },
    '/api/v1/cas/{ca}/revoke': {
      parameters: [CA],
      post: { summary: 'Revoke a CA: every device it certified is refused', responses: json('Ca') },
    },
    '/api/v1/cas/{ca}/crl': {
      parameters: [CA],
      put: {
        summary:
          "Upload the CA's CRL (PEM or base64 DER), signed by the CA and not older than the stored one",
        requestBody: body(obj({ crl: str() })),
        responses: { ...json('CrlUpload'), ...conflict },
      },
    },
    '/api/v1/session': {
      post: {
        summary: 'Sign in with a name and password: sets the HttpOnly session cookie',
        security: [],
        requestBody: body('SignIn'),
        responses: {
          ...json('Session'),
          '403': { $ref: '#/components/responses/Error' },
          '429': { $ref: '#/components/responses/Error' },
        },
      },
      get: { summary: 'Who the caller is (and the CSRF token of a session)', responses: json('Session') },
      delete: { summary: 'Sign out: ends the session and clears the cookie', responses: json('SignedOut') },
    },
    '/api/v1/session/password': {
      put: {
        summary: "Change the signed-in user's own password (ends its other sessions too)",
        requestBody: body(
          obj({ current: str({ format: 'password' }), password: str({ format: 'password' }) }),
        ),
        responses: json('User'),
      },
    },
    '/api/v1/users': {
      get: { summary: "List the organization's users", responses: json('UserList') },
      post: {
        summary: "Add a user (role at most the caller's)",
        requestBody: body('NewUser'),
        responses: { ...json('User', '201', 'Created'), ...conflict },
      },
    },
    '/api/v1/users/{user}': {
      parameters: [USER],
      get: { summary: 'Show a user', responses: json('User') },
    },
    '/api/v1/users/{user}/password': {
      parameters: [USER],
      put: {
        summary: "Set a user's password (ends its sessions)",
        requestBody: body(obj({ password: str({ format: 'password' }) })),
        responses: json('User'),
      },
    },
    '/api/v1/users/{user}/role': {
      parameters: [USER],
      put: {
        summary:
          "Change a user's role (at most the caller's; not to or from superadmin, not one's own); its sessions and tokens see it at once",
        requestBody: body(obj({ role: str({ enum: ['viewer', 'operator', 'admin'] }) })),
        responses: { ...json('User'), ...conflict },
      },
    },
    '/api/v1/users/{user}/disabled': {
      parameters: [USER],
      put: {
        summary: 'Disable (ends its sessions, its tokens stop working) or enable a user',
        requestBody: body(obj({ disabled: { type: 'boolean' } })),
        responses: { ...json('User'), ...conflict },
      },
    },
    '/api/v1/tokens': {
      get: {
        summary: "Named API tokens: the caller's own; an admin's: the organization's",
        responses: json('ApiTokenList'),
      },
      post: {
        summary: "Create a named API token (shown once; role at most the caller's)",
        requestBody: body('NewApiToken'),
        responses: { ...json('NewApiTokenResult', '201', 'Created'), ...conflict },
      },
    },
    '/api/v1/tokens/{token}': {
      parameters: [param('token', 'token name or id')],
      delete: { summary: 'Revoke a named API token', responses: json('ApiToken') },
    },
    '/api/v1/events': {
      get: {
        summary: 'Live events (server-sent events): audit, operator, device, batch, ca',
        responses: {
          '200': { description: 'event stream', content: { 'text/event-stream': { schema: str() } } },
          '401': errors['401'],
          '503': { $ref: '#/components/responses/Error' },
        },
      },
    },
    '/api/v1/openapi.json': {
      get: {
        summary: 'This document',
        security: [],
        responses: {
          '200': {
            description: 'OpenAPI 3.1',
            content: { 'application/json': { schema: { type: 'object' } } },
          },
        },
      },
    },
    '/metrics': {
      get: {
        summary: 'Prometheus metrics (text format 0.0.4)',
        responses: {
          '200': { description: 'metrics', content: { 'text/plain': { schema: str() } } },
          '401': errors['401'],
        },
      },
    },
  },
  components: {
    securitySchemes: {
      bearer: { type: 'http', scheme: 'bearer' },
      session: {
        type: 'apiKey',
        in: 'cookie',
        name: 'enf_session',
        description:
          'The dashboard session (POST /api/v1/session; __Host-enf_session under TLS). State-changing requests also need X-CSRF-Token and a same-origin Origin/Sec-Fetch-Site.',
      },
    },
    responses: { Error: { description: 'Error', content: { 'application/json': { schema: ref('Error') } } } },
    schemas,
  },
} as const;

/** The least role of each operation (the router declares the same; a test holds them equal). */
const ROLES_BY_OPERATION: Record<string, Role> = {
  'get /api/v1/organizations': 'viewer',
  'post /api/v1/organizations': 'superadmin',
  'get /api/v1/organizations/{organization}': 'viewer',
  'get /api/v1/overview': 'viewer',
  'get /api/v1/networks': 'viewer',
  'post /api/v1/networks': 'operator',
  'get /api/v1/networks/{network}': 'viewer',
  'delete /api/v1/networks/{network}': 'operator',
  'get /api/v1/batches': 'viewer',
  'post /api/v1/batches': 'operator',
  'post /api/v1/batches/from-image': 'operator',
  'post /api/v1/labels/scan': 'operator',
  'get /api/v1/batches/{batch}': 'viewer',
  'put /api/v1/batches/{batch}/network': 'operator',
  'post /api/v1/batches/{batch}/revoke': 'operator',
  'get /api/v1/devices': 'viewer',
  'get /api/v1/devices/{device}': 'viewer',
  'get /api/v1/devices/{device}/history': 'viewer',
  'post /api/v1/devices/{device}/revoke': 'operator',
  'put /api/v1/devices/{device}/allow-rekey': 'operator',
  'get /api/v1/audit': 'viewer',
  'get /api/v1/cas': 'viewer',
  'post /api/v1/cas': 'operator',
  'post /api/v1/cas/registration-code': 'operator',
  'get /api/v1/cas/{ca}': 'viewer',
  'post /api/v1/cas/{ca}/revoke': 'operator',
  'put /api/v1/cas/{ca}/crl': 'operator',
  'get /api/v1/operator-audit': 'viewer',
  'get /api/v1/events': 'viewer',
  'get /metrics': 'viewer',
  'get /api/v1/session': 'viewer',
  'delete /api/v1/session': 'viewer',
  'put /api/v1/session/password': 'viewer',
  'get /api/v1/users': 'admin',
  'post /api/v1/users': 'admin',
  'get /api/v1/users/{user}': 'admin',
  'put /api/v1/users/{user}/password': 'admin',
  'put /api/v1/users/{user}/role': 'admin',
  'put /api/v1/users/{user}/disabled': 'admin',
  'get /api/v1/tokens': 'viewer',
  'post /api/v1/tokens': 'viewer',
  'delete /api/v1/tokens/{token}': 'viewer',
};

/** DOCUMENT with x-required-role and a 403 answer on every operation that takes a token. */
function withRoles<T extends { paths: object }>(doc: T): T {
  const out = structuredClone(doc) as T & { paths: Record<string, Record<string, Record<string, unknown>>> };
  for (const [path, item] of Object.entries(out.paths)) {
    for (const [method, op] of Object.entries(item)) {
      if (method === 'parameters' || (Array.isArray(op.security) && op.security.length === 0)) continue;
      const role = ROLES_BY_OPERATION[`${method} ${path}`];
      if (!role) throw new Error(`openapi: no role for ${method} ${path}`);
      op['x-required-role'] = role;
      op.responses = { ...(op.responses as object), '403': { $ref: '#/components/responses/Error' } };
    }
  }
  return out;
}

export const OPENAPI = withRoles(DOCUMENT);
