/* The JSON API with the member's bearer token, and writes that wait in the outbox offline. */
const TOKEN = "sangathan.token";
const USER = "sangathan.user";
const DATA_CACHE = "sangathan-data";
const config = JSON.parse(document.getElementById("member-config").textContent);

export class ApiError extends Error {
  constructor(status, data) {
    super((data && data.detail) || `HTTP ${status}`);
    this.status = status;
    this.data = data || {};
  }
}

export const session = {
  get token() { return localStorage.getItem(TOKEN); },
  get user() {
    try { return JSON.parse(localStorage.getItem(USER) || "null"); } catch { return null; }
  },
  start(token, user) {
    localStorage.setItem(TOKEN, token);
    localStorage.setItem(USER, JSON.stringify(user || null));
  },
  /* Forget everything this phone holds about the member: token, saved API answers, outbox. */
  async end() {
    localStorage.removeItem(TOKEN);
    localStorage.removeItem(USER);
    if ("caches" in window) await caches.delete(DATA_CACHE);
    if (window.SangathanOutbox) await window.SangathanOutbox.clear().catch(() => {});
  },
};

let onUnauthorized = () => {};
export function whenUnauthorized(fn) { onUnauthorized = fn; }

export async function api(path, { method = "GET", body, raw = false, auth = true } = {}) {
  const headers = { Accept: "application/json", "Accept-Language": config.lang };
  if (auth && session.token) headers.Authorization = `Bearer ${session.token}`;
  if (body !== undefined) headers["Content-Type"] = "application/json";
  const res = await fetch(config.api + path, {
    method,
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
    credentials: "same-origin",
  });
  // Tell the screens whether this came from the network or from the copy saved on the phone.
  const saved = res.headers.get("X-Sangathan-Saved") === "1";
  window.dispatchEvent(new CustomEvent("sangathan:network", { detail: { saved } }));
  if (res.status === 401 && auth) {
    onUnauthorized();
    throw new ApiError(401, {});
  }
  if (!res.ok) {
    let data = {};
    try { data = await res.json(); } catch { /* not JSON */ }
    throw new ApiError(res.status, data);
  }
  if (raw) return res;
  if (res.status === 204) return null;
  return res.json();
}

/* A write that may wait: sent now if the network answers, else kept in the outbox (and a
   Background Sync asked for). Returns {queued} so the screen can say which happened. */
export async function record(key, path, body) {
  try {
    const data = await api(path, { method: "POST", body: body || {} });
    return { queued: false, data };
  } catch (err) {
    if (err instanceof ApiError) throw err;
    await window.SangathanOutbox.add({ key, path, body: body || {}, token: session.token });
    try {
      // Only when a worker controls the page: ``ready`` never settles without one.
      if (navigator.serviceWorker && navigator.serviceWorker.controller) {
        const reg = await navigator.serviceWorker.ready;
        if (reg.sync) await reg.sync.register(window.SangathanOutbox.TAG);
      }
    } catch { /* no Background Sync: the page replays when it is online again */ }
    return { queued: true };
  }
}

export async function pending() {
  try { return await window.SangathanOutbox.list(); } catch { return []; }
}
