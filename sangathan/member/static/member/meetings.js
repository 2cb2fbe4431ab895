/* The member app's Meetings screen: my invitations (time, place, agenda), RSVP (waits in the
   outbox when offline, like reads), check-in with the code on the organiser's screen (typed,
   or scanned with the BarcodeDetector API where the browser has it), and my action items
   (ticked through their task). Routes: #/meetings, #/meetings/<code>,
   #/meetings/<code>/checkin/<digits> (the QR code on the organiser's screen opens this). */
import { api, ApiError, pending, record } from "./api.js";

export function initMeetings({ $, el, fmt, toast, problem, T, LANG }) {
  const when = new Intl.DateTimeFormat(LANG === "hi" ? "hi-IN" : "en-IN", {
    weekday: "short", day: "numeric", month: "short", hour: "numeric", minute: "2-digit",
    timeZone: "Asia/Kolkata",
  });
  const until = new Intl.DateTimeFormat(LANG === "hi" ? "hi-IN" : "en-IN", {
    hour: "numeric", minute: "2-digit", timeZone: "Asia/Kolkata",
  });
  const day = new Intl.DateTimeFormat(LANG === "hi" ? "hi-IN" : "en-IN", { day: "numeric", month: "long" });
  const state = { data: null, open: null, checkin: null };
  const ANSWERS = [["yes", T.rsvpYes], ["maybe", T.rsvpMaybe], ["no", T.rsvpNo]];

  function digits(text) {
    return String(text || "").replace(/[\u0966-\u096F]/g, (d) => String(d.charCodeAt(0) - 0x0966)).replace(/\D/g, "");
  }

  async function load(route = "") {
    const [code = "", verb = "", typed = ""] = route.split("/");
    state.open = code ? decodeURIComponent(code) : state.open;
    if (verb === "checkin" && typed) state.checkin = { code: state.open, digits: digits(typed) };
    try {
      const data = await api("/me/meetings");
      const waiting = await pending();
      for (const entry of waiting) {
        const m = data.items.find((i) => entry.key === `rsvp:${i.code}`);
        if (m) m.rsvp = entry.body.answer;
        const a = data.action_items.find((i) => i.task_id && entry.key === `task:${i.task_id}`);
        if (a) a.status = entry.path.endsWith("/done") ? "done" : "open";
      }
      state.data = data;
    } catch (err) {
      if (err instanceof ApiError && err.status === 401) return;
      $("#meetings-empty").textContent = problem(err);
      $("#meetings-empty").hidden = false;
      return;
    }
    render();
    if (state.checkin) {
      const { code: c, digits: d } = state.checkin;
      state.checkin = null;
      history.replaceState(null, "", `#/meetings/${encodeURIComponent(c)}`);
      checkIn(c, d);
    }
  }

  function render() {
    const { items, action_items: actions } = state.data;
    $("#meeting-list").replaceChildren(...items.map(card));
    $("#meetings-empty").textContent = T.meetingsEmpty;
    $("#meetings-empty").hidden = items.length > 0;
    $("#action-list").replaceChildren(...actions.map(actionCard));
    $("#actions-empty").textContent = T.actionsEmpty;
    $("#actions-empty").hidden = actions.length > 0;
    if (state.open) {
      const open = $(`[data-meeting="${CSS.escape(state.open)}"]`);
      if (open) open.scrollIntoView({ block: "start" });
    }
  }

  function card(m) {
    const start = new Date(m.starts_at), end = new Date(m.ends_at);
    const past = end < new Date();
    return el("article", { class: `card stack meeting${m.code === state.open ? " open" : ""}`, "data-meeting": m.code },
      el("p", { class: "task-title" }, m.title),
      el("p", { class: "when" }, `${when.format(start)} – ${until.format(end)}`),
      m.venue ? el("p", { class: "muted" }, `${T.venue}: ${m.venue}`) : null,
      el("p", { class: "muted small" }, [m.kind_label, m.host_unit, m.chair ? fmt(T.chair, { name: m.chair }) : null].filter(Boolean).join(" · ")),
      m.online_link ? el("a", { class: "button secondary", href: m.online_link, target: "_blank", rel: "noopener" }, T.joinOnline) : null,
      m.agenda.length ? el("details", { class: "agenda", open: m.code === state.open },
        el("summary", {}, fmt(T.agendaCount, { count: m.agenda.length })),
        el("ol", {}, ...m.agenda.map((a) => el("li", {}, a.title,
          el("span", { class: "muted small" }, ` · ${[a.presenter, fmt(T.minutes, { count: a.minutes })].filter(Boolean).join(" · ")}`)))),
      ) : null,
      past ? null : el("div", { class: "rsvp", role: "group", "aria-label": T.rsvpQuestion },
        el("p", { class: "small" }, T.rsvpQuestion),
        el("div", { class: "row" }, ...ANSWERS.map(([answer, label]) => el("button", {
          type: "button", class: m.rsvp === answer ? "chosen" : "secondary", "aria-pressed": m.rsvp === answer ? "true" : "false",
          "data-answer": answer, onclick: () => rsvp(m, answer),
        }, label))),
      ),
      m.attended
        ? el("p", {}, el("span", { class: "pill quiet present" }, `✓ ${T.present}`))
        : m.checkin_open ? checkinForm(m) : null,
      el("button", { type: "button", class: "secondary", onclick: () => downloadIcs(m) }, T.addToCalendar),
    );
  }

  function checkinForm(m) {
    const input = el("input", {
      type: "text", inputmode: "numeric", autocomplete: "off", maxlength: "7", placeholder: "123 456",
      id: `checkin-${m.code}`, "aria-label": T.checkinCode,
    });
    const form = el("form", { class: "stack checkin", onsubmit: (e) => { e.preventDefault(); checkIn(m.code, digits(input.value)); } },
      el("label", { for: `checkin-${m.code}` }, T.checkinCode),
      input,
      el("div", { class: "row" },
        el("button", { type: "submit" }, T.checkIn),
        "BarcodeDetector" in window && navigator.mediaDevices
          ? el("button", { type: "button", class: "secondary", onclick: () => scan(m.code) }, T.scan) : null,
      ),
    );
    return form;
  }

  async function rsvp(m, answer) {
    m.rsvp = answer;
    render();
    try {
      const result = await record(`rsvp:${m.code}`, `/meetings/${encodeURIComponent(m.code)}/rsvp`, { answer });
      toast(result.queued ? T.queued : T.rsvpSaved);
    } catch (err) {
      toast(problem(err));
      load();
    }
  }

  async function checkIn(code, typed) {
    if (typed.length !== 6) return toast(T.checkinBadCode);
    try {
      const m = await api(`/meetings/${encodeURIComponent(code)}/checkin`, { method: "POST", body: { code: typed } });
      const i = state.data.items.findIndex((x) => x.code === code);
      if (i >= 0) state.data.items[i] = m;
      render();
      toast(T.checkedIn);
    } catch (err) {
      toast(problem(err));
    }
  }

  /* The camera in a dialog until a QR code of a check-in link (or six digits) is seen. */
  async function scan(code) {
    const dialog = $("#scan-dialog");
    const video = $("#scan-video");
    let stream;
    try {
      stream = await navigator.mediaDevices.getUserMedia({ video: { facingMode: "environment" } });
    } catch {
      return toast(T.cameraBlocked);
    }
    const detector = new window.BarcodeDetector({ formats: ["qr_code"] });
    video.srcObject = stream;
    dialog.showModal();
    await video.play().catch(() => {});
    let stopped = false;
    const stop = () => {
      stopped = true;
      stream.getTracks().forEach((t) => t.stop());
      if (dialog.open) dialog.close();
    };
    $("#scan-cancel").onclick = stop;
    dialog.addEventListener("close", stop, { once: true });
    while (!stopped) {
      try {
        const found = await detector.detect(video);
        for (const f of found) {
          const link = f.rawValue.match(/#\/meetings\/([^/]+)\/checkin\/(\d{6})/);
          const plain = digits(f.rawValue);
          if (link || plain.length === 6) {
            stop();
            return checkIn(link ? decodeURIComponent(link[1]) : code, link ? link[2] : plain);
          }
        }
      } catch { /* a frame not ready yet */ }
      await new Promise((r) => setTimeout(r, 250));
    }
  }

  async function downloadIcs(m) {
    try {
      const res = await api(m.ics.replace("/api/v1", ""), { raw: true });
      const blob = await res.blob();
      const link = el("a", { href: URL.createObjectURL(blob), download: `meeting-${m.code}.ics` });
      document.body.append(link);
      link.click();
      link.remove();
    } catch (err) {
      toast(problem(err));
    }
  }

  function actionCard(a) {
    const done = a.status === "done";
    return el("article", { class: `card stack task${done ? " is-done" : ""}`, "data-action": a.id },
      el("p", { class: "task-title" }, a.title, a.overdue && !done ? el("span", { class: "pill late" }, T.overdue) : null),
      el("p", { class: "muted small" }, [a.assigned_to, a.meeting_title].join(" · ")),
      a.due ? el("p", { class: "small" }, fmt(T.due, { date: day.format(new Date(a.due)) })) : null,
      a.task_id ? (done
        ? el("p", { class: "row" }, el("span", { class: "pill quiet done-mark" }, `✓ ${T.done}`),
          el("button", { type: "button", class: "secondary", onclick: () => tick(a, false) }, T.undo))
        : el("button", { type: "button", onclick: () => tick(a, true) }, T.markDone)) : null,
    );
  }

  async function tick(a, done) {
    a.status = done ? "done" : "open";
    render();
    try {
      const result = await record(`task:${a.task_id}`, `/me/tasks/${a.task_id}/${done ? "done" : "undone"}`);
      if (result.queued) toast(T.queued);
    } catch (err) {
      toast(problem(err));
      load();
    }
  }

  return { load };
}
