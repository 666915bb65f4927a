// Dashboard <-> management API: fetch with the bearer token (kept in sessionStorage, never in URLs),
// JSON errors turned into ApiFailure with the server's code/field, and the event stream read with
// fetch (EventSource cannot send an Authorization header).
const TOKEN_KEY = 'enf-token';

export const token = {
  get: () => sessionStorage.getItem(TOKEN_KEY),
  set: (t) => sessionStorage.setItem(TOKEN_KEY, t),
  clear: () => sessionStorage.removeItem(TOKEN_KEY),
};

export class ApiFailure extends Error {
  constructor(status, error) {
    super(error?.message ?? `HTTP ${status}`);
    this.status = status;
    this.code = error?.code ?? 'HTTP';
    this.field = error?.field;
  }
}

export async function api(method, path, body, contentType) {
  const headers = { authorization: `Bearer ${token.get() ?? ''}` };
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
    if (res.status === 401) window.dispatchEvent(new Event('enf-unauthorized'));
    throw new ApiFailure(res.status, data?.error);
  }
  return data;
}

/** Reads /api/v1/events; calls onEvent(type, data) per event; reconnects until `signal` aborts. */
export async function listen(onEvent, signal) {
  while (!signal.aborted) {
    try {
      const res = await fetch('/api/v1/events', {
        headers: { authorization: `Bearer ${token.get() ?? ''}` },
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
