/* The member app: screens filled from the JSON API. Hash routes: #/login, #/feed,
   #/feed/<code>, #/tasks, #/meetings[/<code>[/checkin/<digits>]], #/invite, #/profile. */
import { api, ApiError, pending, record, session, whenUnauthorized } from "./api.js";
import { initMeetings } from "./meetings.js";

const $ = (sel, root = document) => root.querySelector(sel);
const T = JSON.parse($("#member-strings").textContent);
const config = JSON.parse($("#member-config").textContent);
const LANG = config.lang;
const SCREENS = ["login", "feed", "tasks", "meetings", "invite", "profile"];

/* "%(name)s" placeholders, as gettext writes them. */
function fmt(message, values) {
  return message.replace(/%\((\w+)\)s/g, (_m, k) => (values[k] ?? ""));
}

function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === null || v === undefined || v === false) continue;
    if (k === "class") node.className = v;
    else if (k.startsWith("on")) node.addEventListener(k.slice(2), v);
    else node.setAttribute(k, v === true ? "" : v);
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

let toastTimer;
function toast(message) {
  const box = $("#toast");
  box.textContent = message;
  box.hidden = false;
  clearTimeout(toastTimer);
  toastTimer = setTimeout(() => { box.hidden = true; }, 4000);
}

function showError(form, message) {
  const p = $(".error", form);
  p.textContent = message;
  p.hidden = !message;
}

function problem(err) {
  if (err instanceof ApiError) return err.data.detail || T.error;
  return navigator.onLine ? T.error : T.offlineEmpty;
}

const dateFormat = new Intl.DateTimeFormat(LANG === "hi" ? "hi-IN" : "en-IN", {
  day: "numeric", month: "short", hour: "numeric", minute: "2-digit",
});
const dayFormat = new Intl.DateTimeFormat(LANG === "hi" ? "hi-IN" : "en-IN", {
  day: "numeric", month: "long",
});

/* Devanagari (and other Indic) digits typed on a Hindi keyboard count as digits. */
function asciiDigits(text) {
  return text.replace(/[\u0966-\u096F]/g, (d) => String(d.charCodeAt(0) - 0x0966));
}

/* A share: the phone's share sheet where there is one, else WhatsApp's link. Either way the
   share is recorded (and waits in the outbox when offline). */
function shareControl(text, label, onShared) {
  if (navigator.share) {
    return el("button", {
      type: "button", class: "secondary",
      onclick: async () => {
        try {
          await navigator.share({ text });
        } catch (err) {
          if (err && err.name === "AbortError") return;
        }
        onShared();
      },
    }, label || T.share);
  }
  return el("a", {
    class: "button secondary", href: `https://wa.me/?text=${encodeURIComponent(text)}`,
    target: "_blank", rel: "noopener", onclick: () => onShared(),
  }, label || T.shareWhatsApp);
}

/* ---------- login ---------- */
let loginPhone = "";

$("#phone-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const form = event.currentTarget;
  const phone = asciiDigits($("#phone").value).replace(/[^\d+]/g, "");
  if (phone.replace(/\D/g, "").length < 10) return showError(form, T.badPhone);
  showError(form, "");
  const button = $("button[type=submit]", form);
  button.disabled = true;
  try {
    await api("/auth/otp/request", { method: "POST", body: { phone }, auth: false });
    loginPhone = phone;
    $("#code-sent").textContent = fmt(T.codeSent, { phone: $("#phone").value.trim() });
    form.hidden = true;
    $("#code-form").hidden = false;
    $("#code").focus();
  } catch (err) {
    showError(form, problem(err));
  } finally {
    button.disabled = false;
  }
});

$("#code-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const form = event.currentTarget;
  const code = asciiDigits($("#code").value).replace(/\D/g, "");
  if (code.length !== 6) return showError(form, T.badCode);
  showError(form, "");
  const button = $("button[type=submit]", form);
  button.disabled = true;
  try {
    const answer = await api("/auth/otp/verify", {
      method: "POST", body: { phone: loginPhone, code }, auth: false,
    });
    session.start(answer.token, answer.user);
    $("#code").value = "";
    form.hidden = true;
    $("#phone-form").hidden = false;
    location.hash = "#/feed";
  } catch (err) {
    showError(form, problem(err));
  } finally {
    button.disabled = false;
  }
});

$("#change-phone").addEventListener("click", () => {
  $("#code-form").hidden = true;
  $("#phone-form").hidden = false;
  $("#phone").focus();
});

async function logout(message) {
  const token = session.token;
  await session.end();
  if (token) {
    fetch(`${config.api}/auth/logout`, {
      method: "POST", headers: { Authorization: `Bearer ${token}` },
    }).catch(() => {});
  }
  if (message) toast(message);
  location.hash = "#/login";
}

whenUnauthorized(() => {
  session.end().then(() => {
    toast(T.sessionOver);
    location.hash = "#/login";
  });
});

/* ---------- feed ---------- */
const feed = { items: [], cursor: null, openCode: null, scrollTo: null };

function localText(item) {
  const hi = [item.title_hi, item.body_hi], en = [item.title_en, item.body_en];
  const [first, second] = LANG === "hi" ? [hi, en] : [en, hi];
  return {
    title: first[0] || second[0] || item.title,
    body: first[1] || second[1] || item.body,
  };
}

async function applyPending(items) {
  const waiting = await pending();
  const keys = new Set(waiting.map((e) => e.key));
  for (const item of items) {
    if (keys.has(`read:${item.id}`)) item.read = true;
    if (keys.has(`share:${item.id}`)) { item.read = true; item.shared = true; }
  }
}

async function loadFeed(more = false) {
  const path = more && feed.cursor ? `/feed?limit=20&cursor=${encodeURIComponent(feed.cursor)}` : "/feed?limit=20";
  try {
    const page = await api(path);
    await applyPending(page.items);
    feed.items = more ? feed.items.concat(page.items) : page.items;
    feed.cursor = page.next_cursor;
    // A link to one message (a tapped notification) opens it: that is reading it.
    const opened = feed.items.find((i) => i.id === feed.openCode && !i.read);
    if (opened) markRead(opened);
  } catch (err) {
    if (err instanceof ApiError && err.status === 401) return;
    if (!more && !feed.items.length) $("#feed-empty").textContent = problem(err);
    toast(problem(err));
  }
  renderFeed();
}

function renderFeed() {
  const list = $("#feed-list");
  list.replaceChildren(...feed.items.map(feedItem));
  const empty = $("#feed-empty");
  if (!feed.items.length) {
    if (!empty.textContent) empty.textContent = T.feedEmpty;
    empty.hidden = false;
  } else {
    empty.hidden = true;
    empty.textContent = "";
  }
  const more = $("#feed-more");
  more.textContent = T.more;
  more.hidden = !feed.cursor;
  const unread = feed.items.filter((i) => !i.read).length;
  $("#unread-count").textContent = unread;
  $("#unread-count").hidden = unread === 0;
  if (feed.scrollTo) {
    // Once, for a link to one message (a tapped notification), when it has been loaded.
    const open = list.querySelector(`[data-code="${CSS.escape(feed.scrollTo)}"]`);
    if (open) {
      open.scrollIntoView({ block: "start" });
      feed.scrollTo = null;
    }
  }
}

function feedItem(item) {
  const { title, body } = localText(item);
  const open = feed.openCode === item.id;
  const shareText = [title, body, item.link].filter(Boolean).join("\n\n");
  const status = item.shared
    ? el("span", { class: "pill quiet" }, T.shared)
    : item.read ? el("span", { class: "pill quiet" }, T.read) : el("span", { class: "pill" }, T.unread);
  const card = el("article", {
    class: `item${item.read ? "" : " unread"}${open ? " open" : ""}`, "data-code": item.id,
  },
    el("button", {
      type: "button", class: "item-head", "aria-expanded": open ? "true" : "false",
      onclick: () => toggleItem(item),
    },
      el("span", { class: "item-title" }, el("span", { class: "title" }, title), status),
      el("span", { class: "item-meta" }, `${item.unit_name} · ${dateFormat.format(new Date(item.sent_at))}`),
      el("span", { class: "item-body" }, body),
    ),
    el("div", { class: "item-more" },
      item.local_note ? el("p", { class: "note" }, item.local_note) : null,
      item.attachment ? el("div", { class: "attachment" },
        el("button", { type: "button", class: "secondary", onclick: (e) => openAttachment(item, e.currentTarget) }, T.openAttachment)) : null,
      item.link ? el("a", { class: "button secondary", href: item.link, target: "_blank", rel: "noopener" }, T.openLink) : null,
      shareControl(shareText, null, () => markShared(item)),
    ),
  );
  return card;
}

async function toggleItem(item) {
  feed.openCode = feed.openCode === item.id ? null : item.id;
  history.replaceState(null, "", feed.openCode ? `#/feed/${encodeURIComponent(item.id)}` : "#/feed");
  renderFeed();
  if (feed.openCode && !item.read) await markRead(item);
}

async function markRead(item) {
  item.read = true;
  renderFeed();
  try {
    const result = await record(`read:${item.id}`, `/feed/${encodeURIComponent(item.id)}/read`);
    if (result.queued) toast(T.queued);
  } catch (err) {
    toast(problem(err));
  }
}

async function markShared(item) {
  item.read = true;
  item.shared = true;
  renderFeed();
  try {
    const result = await record(`share:${item.id}`, `/feed/${encodeURIComponent(item.id)}/share`);
    if (result.queued) toast(T.queued);
  } catch (err) {
    toast(problem(err));
  }
}

async function openAttachment(item, button) {
  // The attachment needs the bearer token, so it is fetched, then shown from memory.
  try {
    const res = await api(item.attachment.replace(config.api, ""), { raw: true });
    const blob = await res.blob();
    const url = URL.createObjectURL(blob);
    if (blob.type.startsWith("image/")) {
      button.replaceWith(el("img", { src: url, alt: T.attachment }));
    } else {
      window.open(url, "_blank", "noopener");
    }
  } catch (err) {
    toast(problem(err));
  }
}

$("#feed-more").addEventListener("click", () => loadFeed(true));

/* ---------- tasks ---------- */
async function loadTasks() {
  const list = $("#task-list");
  try {
    const data = await api("/me/tasks");
    const waiting = await pending();
    for (const entry of waiting) {
      const task = data.items.find((t) => entry.key === `task:${t.id}`);
      if (task) task.done = entry.path.endsWith("/done");
    }
    list.replaceChildren(...data.items.map(taskCard));
    $("#tasks-empty").textContent = T.tasksEmpty;
    $("#tasks-empty").hidden = data.items.length > 0;
  } catch (err) {
    if (err instanceof ApiError && err.status === 401) return;
    $("#tasks-empty").textContent = problem(err);
    $("#tasks-empty").hidden = false;
  }
}

function taskCard(task) {
  const who = task.assigned === "position" && task.position
    ? fmt(T.forPosition, { position: task.position, unit: task.unit_name })
    : fmt(T.forYou, { unit: task.unit_name });
  // A forward task another admin of the group marked done (or staff confirmed) is settled:
  // shown as done, and marking it done too still counts this admin.
  const settled = !task.done && task.settled;
  const card = el("article", { class: `card stack task${task.done || settled ? " is-done" : ""}`, "data-task": task.id },
    el("p", { class: "task-title" }, task.title),
    task.body ? el("p", { class: "item-body" }, task.body) : null,
    el("p", { class: "muted small" }, who,
      task.due ? ` · ${fmt(T.due, { date: dayFormat.format(new Date(task.due)) })}` : ""),
    // A forward task's wa.me link is cut to fit the task's URL field (Hindi takes nine
    // characters a letter there); its share button carries the whole text instead.
    task.link && !(task.share_text && task.link.startsWith("https://wa.me/"))
      ? el("a", { class: "button secondary", href: task.link, target: "_blank", rel: "noopener" }, T.openLink)
      : null,
    task.share_text && !settled ? shareControl(task.share_text, null, () => {}) : null,
    settled
      ? el("p", { class: "row" },
        el("span", { class: "pill quiet done-mark" }, `✓ ${T.settled}`),
        el("button", { type: "button", class: "secondary", onclick: () => toggleTask(task, card) }, T.markDone))
      : task.done
      ? el("p", { class: "row" },
        el("span", { class: "pill quiet done-mark" }, `✓ ${T.done}`),
        el("button", { type: "button", class: "secondary", onclick: () => toggleTask(task, card) }, T.undo))
      : el("button", { type: "button", onclick: () => toggleTask(task, card) }, T.markDone),
  );
  return card;
}

async function toggleTask(task, card) {
  const done = !task.done;
  task.done = done;
  card.replaceWith(taskCard(task));
  try {
    const verb = done ? "done" : "undone";
    const result = await record(`task:${task.id}`, `/me/tasks/${encodeURIComponent(task.id)}/${verb}`);
    if (result.queued) toast(T.queued);
  } catch (err) {
    toast(problem(err));
    loadTasks();
  }
}

/* ---------- meetings (meetings.js) ---------- */
const meetings = initMeetings({ $, el, fmt, toast, problem, T, LANG });

/* ---------- invite ---------- */
let invite = null;

async function loadInvite() {
  try {
    invite = await api("/me/invite");
  } catch (err) {
    if (!(err instanceof ApiError && err.status === 401)) toast(problem(err));
    return;
  }
  const qr = $("#invite-qr");
  // The SVG comes from our own server (the qrcode package), never from user input.
  qr.innerHTML = invite.qr_svg;
  $("#invite-code").textContent = invite.code;
  $("#invite-url").value = invite.url;
  $("#invite-joined").textContent = fmt(T.joined, { count: invite.joined });
  $("#invite-joined7").textContent = fmt(T.joined7d, { count: invite.joined_7d });
  const text = fmt(T.inviteText, { url: invite.url });
  const share = shareControl(text, T.share, () => {});
  share.id = "invite-share";
  share.classList.remove("secondary");
  $("#invite-share").replaceWith(share);
}

$("#invite-copy").addEventListener("click", async () => {
  if (!invite) return;
  try {
    await navigator.clipboard.writeText(invite.url);
  } catch {
    $("#invite-url").select();
    document.execCommand("copy");
  }
  toast(T.copied);
});

/* ---------- profile ---------- */
async function loadProfile() {
  let profile;
  try {
    profile = await api("/me/profile");
  } catch (err) {
    if (!(err instanceof ApiError && err.status === 401)) toast(problem(err));
    return;
  }
  $("#profile-name").textContent = profile.name;
  $("#profile-phone").textContent = profile.phone;
  $("#profile-unit").textContent = profile.unit ? profile.unit.name : "";
  $("#profile-trail").textContent = profile.unit ? profile.unit.trail.join(" › ") : "";
  const positions = profile.positions.map((p) => el("li", {}, `${p.title} — ${p.unit_name}`));
  $("#profile-positions").replaceChildren(...(positions.length ? positions : [el("li", { class: "muted" }, T.positionsNone)]));
  renderConsents(profile.consents);
  pushState();
}

function renderConsents(consents) {
  const byChannel = new Map();
  for (const c of consents) {
    if (!byChannel.has(c.channel)) byChannel.set(c.channel, { label: c.channel_label, items: [] });
    byChannel.get(c.channel).items.push(c);
  }
  const groups = [...byChannel.entries()].map(([channel, group]) =>
    el("fieldset", { class: "channel" },
      el("legend", {}, group.label),
      ...group.items.map((c) => el("label", { class: "switch" },
        el("span", {}, c.purpose_label),
        el("input", {
          type: "checkbox", role: "switch", checked: c.active,
          "data-channel": channel, "data-purpose": c.purpose,
          onchange: (e) => changeConsent(c, e.currentTarget),
        }),
      )),
    ));
  $("#consents").replaceChildren(...groups);
}

async function changeConsent(consent, input) {
  const grant = input.checked;
  input.disabled = true;
  try {
    const answer = await api("/me/consents", {
      method: "POST", body: { channel: consent.channel, purpose: consent.purpose, grant },
    });
    renderConsents(answer.consents);
    toast(fmt(grant ? T.consentOn : T.consentOff, {
      channel: consent.channel_label, purpose: consent.purpose_label,
    }));
  } catch (err) {
    input.checked = !grant;
    input.disabled = false;
    toast(problem(err));
  }
}

$("#export").addEventListener("click", async (event) => {
  const button = event.currentTarget;
  button.disabled = true;
  try {
    const res = await api("/me/export", { raw: true });
    const blob = await res.blob();
    const name = (res.headers.get("Content-Disposition") || "").match(/filename="?([^";]+)"?/);
    const link = el("a", { href: URL.createObjectURL(blob), download: name ? name[1] : "my-data.json" });
    document.body.append(link);
    link.click();
    link.remove();
    toast(T.exported);
  } catch (err) {
    toast(problem(err));
  } finally {
    button.disabled = false;
  }
});

const eraseDialog = $("#erase-dialog");
$("#erase").addEventListener("click", () => {
  $("#erase-confirm").checked = false;
  showError($("#erase-form"), "");
  eraseDialog.showModal();
});
$("#erase-cancel").addEventListener("click", () => eraseDialog.close());
$("#erase-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const form = event.currentTarget;
  if (!$("#erase-confirm").checked) return showError(form, T.eraseConfirmNeeded);
  $("#erase-submit").disabled = true;
  try {
    await api("/me/erase", {
      method: "POST", body: { confirm: true, reason: $("#erase-reason").value.trim() },
    });
    eraseDialog.close();
    await session.end();
    toast(T.erased);
    location.hash = "#/login";
  } catch (err) {
    showError(form, problem(err));
  } finally {
    $("#erase-submit").disabled = false;
  }
});

$("#logout").addEventListener("click", () => logout(T.loggedOut));

/* ---------- Web Push ---------- */
function base64UrlToBytes(text) {
  const padded = (text + "=".repeat((4 - (text.length % 4)) % 4)).replace(/-/g, "+").replace(/_/g, "/");
  return Uint8Array.from(atob(padded), (c) => c.charCodeAt(0));
}

async function pushState() {
  const state = $("#push-state");
  const button = $("#push-on");
  if (!("serviceWorker" in navigator) || !("PushManager" in window) || !("Notification" in window)) {
    state.textContent = T.pushUnsupported;
    button.hidden = true;
    return;
  }
  if (Notification.permission === "denied") {
    state.textContent = T.pushDenied;
    return;
  }
  const reg = await navigator.serviceWorker.getRegistration(config.scope);
  const sub = reg && (await reg.pushManager.getSubscription());
  if (sub && Notification.permission === "granted") {
    state.textContent = T.pushOn;
    button.hidden = true;
  }
}

$("#push-on").addEventListener("click", async () => {
  const state = $("#push-state");
  try {
    const key = await api("/push/key");
    if (!key.enabled) {
      state.textContent = T.pushUnavailable;
      return;
    }
    const permission = await Notification.requestPermission();
    if (permission !== "granted") {
      state.textContent = T.pushDenied;
      return;
    }
    const reg = await navigator.serviceWorker.ready;
    const sub = await reg.pushManager.subscribe({
      userVisibleOnly: true, applicationServerKey: base64UrlToBytes(key.public_key),
    });
    const json = sub.toJSON();
    await api("/push/subscriptions", {
      method: "POST", body: { endpoint: json.endpoint, keys: json.keys },
    });
    state.textContent = T.pushOn;
    $("#push-on").hidden = true;
  } catch (err) {
    state.textContent = problem(err);
  }
});

/* ---------- routing, online/offline, the outbox ---------- */
function route() {
  $("#toast").hidden = true;
  const [, name = "", code = ""] = location.hash.match(/^#\/([^/]*)\/?(.*)$/) || [];
  let screen = SCREENS.includes(name) ? name : "feed";
  if (!session.token) screen = "login";
  else if (screen === "login") screen = "feed";
  for (const s of SCREENS) $(`#screen-${s}`).hidden = s !== screen;
  $("#tabs").hidden = screen === "login";
  for (const a of document.querySelectorAll("#tabs a")) {
    if (a.dataset.tab === screen) a.setAttribute("aria-current", "page");
    else a.removeAttribute("aria-current");
  }
  if (screen === "feed") {
    if (code) {
      feed.openCode = decodeURIComponent(code);
      feed.scrollTo = feed.openCode;
    }
    loadFeed();
  } else if (screen === "tasks") loadTasks();
  else if (screen === "meetings") meetings.load(code);
  else if (screen === "invite") loadInvite();
  else if (screen === "profile") loadProfile();
  else if (screen === "login") $("#phone").focus();
  document.body.dataset.screen = screen;
}

let showingSaved = false;
function showNetwork() {
  $("#net").hidden = navigator.onLine && !showingSaved;
}

window.addEventListener("sangathan:network", (event) => {
  const saved = event.detail.saved;
  if (saved && !showingSaved) toast(T.offline);
  const back = showingSaved && !saved;
  showingSaved = saved;
  showNetwork();
  // The network answers again: send what waited (the online event does not always fire).
  if (back) replayOutbox();
});

let replaying = false;
async function replayOutbox() {
  if (replaying || !session.token || !window.SangathanOutbox) return;
  replaying = true;
  const result = await window.SangathanOutbox.replay().catch(() => ({ sent: 0 }));
  replaying = false;
  if (result.sent) {
    toast(T.synced);
    document.body.dataset.outbox = "sent";
  }
}

window.addEventListener("hashchange", route);
window.addEventListener("online", () => {
  showNetwork();
  replayOutbox();
});
window.addEventListener("offline", () => {
  showNetwork();
  toast(T.offline);
});
navigator.serviceWorker?.addEventListener("message", (event) => {
  const data = event.data || {};
  if (data.type === "open" && data.code) location.hash = `#/feed/${encodeURIComponent(data.code)}`;
  if (data.type === "outbox-sent") toast(T.synced);
});
// The first visit loads its data before the new worker takes over: load it once more through
// the worker, so that it is saved for offline reading.
navigator.serviceWorker?.addEventListener("controllerchange", () => {
  if (session.token) route();
});

showNetwork();
route();
if (navigator.onLine) replayOutbox();
document.documentElement.dataset.ready = "1";
