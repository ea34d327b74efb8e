// The admin API client: the token lives in this tab's sessionStorage and is
// sent as a bearer token; there is no cookie, so another site cannot make the
// browser act with it (no CSRF), and the strict CSP keeps foreign script out.
const KEY = 'gatescale.console.token';
let token = sessionStorage.getItem(KEY) || '';

export function hasToken() { return token !== ''; }

export function setToken(t) {
  token = t;
  if (t) sessionStorage.setItem(KEY, t); else sessionStorage.removeItem(KEY);
}

// APIError carries the status and the problem body (errors: [{pointer, detail}]).
export class APIError extends Error {
  constructor(status, body) {
    super((body && (body.detail || body.title)) || ('HTTP ' + status));
    this.status = status;
    this.body = body || {};
  }
  get errors() { return Array.isArray(this.body.errors) ? this.body.errors : []; }
}

// call sends one request. rev, when given, becomes If-Match: "rev".
export async function call(method, path, { body, rev, message } = {}) {
  const headers = { Accept: 'application/json' };
  if (token) headers.Authorization = 'Bearer ' + token;
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  if (rev !== undefined && rev !== null) headers['If-Match'] = '"' + rev + '"';
  if (message) headers['X-Change-Message'] = message;
  const res = await fetch(path, {
    method, headers, cache: 'no-store', credentials: 'omit', redirect: 'error',
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  let data = null;
  if (text) {
    try { data = JSON.parse(text); } catch { data = { detail: text.trim() }; }
  }
  if (!res.ok) throw new APIError(res.status, data);
  const etag = res.headers.get('ETag');
  const revision = etag ? Number(etag.replace(/^W\//, '').replaceAll('"', '')) : undefined;
  return { data, rev: revision, status: res.status };
}

export const get = (path) => call('GET', path);
