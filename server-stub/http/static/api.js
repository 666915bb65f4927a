// Dashboard <-> management API. Signed in with a name and password, the browser holds the HttpOnly
// session cookie and this module only the session's CSRF token (from GET /api/v1/session), sent as
// X-CSRF-Token on every state-changing request; with an API token instead, the token is kept in
// sessionStorage and sent as a bearer header (never in URLs). JSON errors become ApiFailure with the
// server's code/field; the event stream is read with fetch (EventSource cannot send a header).
const TOKEN_KEY = 'enf-token';

export const token = {
  get: () => sessionStorage.getItem(TOKEN_KEY),
  set: (t) => sessionStorage.setItem(TOKEN_KEY, t),
  clear: () => sessionStorage.removeItem(TOKEN_KEY),
};

/** Who is signed in (GET /api/v1/session): actor, user, role, organization, csrfToken. */
let me;
export const whoAmI = () => me;
/** Whether the signed-in principal may change things (operator or more); viewers only read. */
export const canChange = () => me !== undefined && me.role !== 'viewer';

function authHeaders(method) {
  const h = {};
  const t = token.get();
  if (t) h.authorization = `Bearer ${t}`;
  if (method !== 'GET' && method !== 'HEAD' && me?.csrfToken) h['x-csrf-token'] = me.csrfToken;
  return h;
}

export class ApiFailure extends Error {
  constructor(status, error) {
    super(error?.message ?? `HTTP ${status}`);
    this.status = status;
    this.code = error?.code ?? 'HTTP';
    this.field = error?.field;
  }
}

export async function api(method, path, body, contentType) {
  const headers = authHeaders(method);
  let payload;
  if (body instanceof Blob) {
    payload = body;
    headers['content-type'] = contentType ?? body.type;
  } else if (body !== undefined) {
    payload = JSON.stringify(body);
    headers['content-type'] = 'application/json';
  }
  const res = await fetch(path, { method, headers, body: payload });
  const data = res.headers.get('content-type')?.startsWith('application/json') ? await res.json() : undefined;
  if (!res.ok) {
    // Signed in until now: the session ended (idle, signed out elsewhere) or the token was revoked.
    if (res.status === 401 && me !== undefined) {
      me = undefined;
      window.dispatchEvent(new Event('enf-unauthorized'));
    }
    throw new ApiFailure(res.status, data?.error);
  }
  return data;
}

/** Reads /api/v1/events; calls onEvent(type, data) per event; reconnects until `signal` aborts. */
export async function listen(onEvent, signal) {
  while (!signal.aborted) {
    try {
      const res = await fetch('/api/v1/events', {
        headers: authHeaders('GET'),
        signal,
      });
      if (!res.ok) throw new Error(`events: HTTP ${res.status}`);
      const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
      let buf = '';
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        buf += value;
        let end;
        while ((end = buf.indexOf('\n\n')) >= 0) {
          const block = buf.slice(0, end);
          buf = buf.slice(end + 2);
          let type = 'message';
          const data = [];
          for (const line of block.split('\n')) {
            if (line.startsWith('event: ')) type = line.slice(7);
            else if (line.startsWith('data: ')) data.push(line.slice(6));
          }
          if (data.length) onEvent(type, JSON.parse(data.join('\n')));
        }
      }
    } catch (err) {
      if (signal.aborted) return;
      console.warn(`event stream interrupted (${err.message}); reconnecting`);
    }
    await new Promise((r) => setTimeout(r, 2000));
  }
}

/** Learns who the cookie or token acts as; undefined when neither is valid. */
/** Set while this browser is signed in by password (not a secret: it only saves a 401 probe). */
const SIGNED_IN_KEY = 'enf-signed-in';

export async function loadSession() {
  me = undefined;
  if (!token.get() && !localStorage.getItem(SIGNED_IN_KEY)) return undefined;
  try {
    me = await api('GET', '/api/v1/session');
  } catch (err) {
    if (err.status !== 401) throw err;
    localStorage.removeItem(SIGNED_IN_KEY);
  }
  return me;
}

export async function signInWithPassword(name, password) {
  token.clear();
  me = await api('POST', '/api/v1/session', { name, password });
  localStorage.setItem(SIGNED_IN_KEY, '1');
  return me;
}

export async function signOut() {
  try {
    if (me?.csrfToken) await api('DELETE', '/api/v1/session');
  } finally {
    me = undefined;
    token.clear();
    localStorage.removeItem(SIGNED_IN_KEY);
  }
}
