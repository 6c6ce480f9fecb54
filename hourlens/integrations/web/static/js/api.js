// The REST API, same origin. The session cookie (set by POST /login) rides along.

export class ApiError extends Error {
  constructor(status, code, message) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

let unauthorized = () => {};

/** Called whenever the server answers 401 (the page then asks for the token). */
export function onUnauthorized(fn) {
  unauthorized = fn;
}

async function failure(res) {
  let body = null;
  try { body = await res.json(); } catch { /* not JSON */ }
  if (res.status === 401) unauthorized();
  const err = body && body.error ? body.error : {};
  return new ApiError(res.status, err.code || 'error', err.message || `${res.status} ${res.statusText}`);
}

function request(method, path, body, params, signal) {
  const url = new URL(path, window.location.origin);
  for (const [k, v] of Object.entries(params || {})) {
    if (v !== null && v !== undefined && v !== '') url.searchParams.set(k, v);
  }
  const init = { method, credentials: 'same-origin', signal, headers: {} };
  if (body !== undefined) {
    init.headers['Content-Type'] = 'application/json';
    init.body = JSON.stringify(body);
  }
  return fetch(url, init);
}

/** JSON from the API (null for 204); throws ApiError. */
export async function api(path, { method = 'GET', body, params, signal } = {}) {
  const res = await request(method, path, body, params, signal);
  if (!res.ok) throw await failure(res);
  if (res.status === 204) return null;
  return res.json();
}

/** Trade the API token for the session cookie; false when the token is wrong. */
export async function login(token) {
  const res = await request('POST', '/login', { token });
  if (res.status === 401) return false;
  if (!res.ok) throw await failure(res);
  return true;
}

/** {auth_required, logged_in} of this browser (GET /session, open without a token). */
export async function loginState() {
  const res = await request('GET', '/session');
  if (!res.ok) throw await failure(res);
  return res.json();
}

export async function logout() {
  await request('POST', '/logout');
}

/**
 * POST /ask/stream: calls onStep({node, detail, seconds}) per agent step as it arrives and
 * resolves with the answer ({answer, confidence, citations, steps}); throws ApiError.
 */
export async function askStream(body, onStep, signal) {
  const res = await request('POST', '/ask/stream', body, null, signal);
  if (!res.ok) throw await failure(res);
  const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
  let buf = '';
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    buf += value;
    let cut;
    while ((cut = buf.indexOf('\n\n')) >= 0) {
      const block = buf.slice(0, cut);
      buf = buf.slice(cut + 2);
      let name = 'message';
      const data = [];
      for (const line of block.split('\n')) {
        if (line.startsWith('event:')) name = line.slice(6).trim();
        else if (line.startsWith('data:')) data.push(line.slice(5).trimStart());
      }
      if (!data.length) continue;
      const payload = JSON.parse(data.join('\n'));
      if (name === 'step') onStep(payload);
      else if (name === 'answer') return payload;
      else if (name === 'error') {
        const e = payload.error || {};
        throw new ApiError(500, e.code || 'error', e.message || 'the question failed');
      }
    }
  }
  throw new ApiError(500, 'stream_ended', 'the answer stream ended early');
}
