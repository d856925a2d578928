// The pages' few live parts, in plain JavaScript (no build, no library):
// polling of [data-live] roots, countdowns, the best-score chart, the job notice, the job form's algorithm
// switch, the dataset form's source switch, and the buttons of the reveal's show.
"use strict";

(function () {
  const serverNow = Date.parse(document.body.dataset.serverNow || "");
  // The page's clock may differ from the server's: count down against the server's time.
  const skew = Number.isNaN(serverNow) ? 0 : serverNow - Date.now();
  // The words this script writes, in the page's language ({% live_strings %} in base.html).
  const stringsNode = document.getElementById("live-strings");
  const STRINGS = stringsNode ? JSON.parse(stringsNode.textContent) : {};
  // Numbers as the page's language writes them (0,875 on a German page).
  const LANG = document.documentElement.lang || undefined;
  function decimals(value, digits) {
    return Number(value).toLocaleString(LANG, {
      minimumFractionDigits: digits,
      maximumFractionDigits: digits,
    });
  }
  function t(name, values) {
    let text = STRINGS[name] || name;
    for (const [key, value] of Object.entries(values || {})) text = text.split("{" + key + "}").join(value);
    return text;
  }

  // Live parts -------------------------------------------------------------------------
  function startLive(root) {
    const url = root.dataset.live;
    const interval = Number(root.dataset.interval) || 1000;
    let signature = root.dataset.signature || "";
    let state = root.dataset.state || "";
    let timer = null;
    async function tick() {
      window.clearTimeout(timer);
      try {
        const response = await fetch(url + "?since=" + encodeURIComponent(signature), {
          headers: { Accept: "application/json" },
          credentials: "same-origin",
          cache: "no-store",
        });
        if (response.ok) {
          const answer = await response.json();
          if (!answer.unchanged) {
            signature = answer.signature;
            if (answer.state && state && answer.state !== state && root.dataset.reloadOnState) {
              window.location.reload(); // the form and the notices change with the state
              return;
            }
            state = answer.state || state;
            for (const [name, html] of Object.entries(answer.parts || {})) {
              root.querySelectorAll('[data-part="' + name + '"]').forEach((el) => {
                replaceKeepingFocus(el, html);
              });
            }
            if (answer.history) drawCharts(answer.history);
            startCountdowns(root);
            followNotices();
          }
        }
      } catch (error) {
        // A network blip: the next tick tries again.
      }
      timer = window.setTimeout(tick, document.hidden ? interval * 4 : interval);
    }
    root.liveTick = tick; // the show's buttons ask at once instead of waiting for the poll
    timer = window.setTimeout(tick, interval);
  }

  // A part replaced under the keyboard's focus would drop it to the top of the page: the
  // same link or button in the new content (by id, href or text, else by position) takes it.
  const FOCUSABLE = "a[href], button, input, select, textarea, [tabindex]";
  function replaceKeepingFocus(part, html) {
    const had = document.activeElement;
    if (!had || had === part || !part.contains(had)) {
      part.innerHTML = html;
      return;
    }
    const before = Array.from(part.querySelectorAll(FOCUSABLE));
    const position = before.indexOf(had);
    const href = had.getAttribute("href");
    const text = had.textContent.trim();
    part.innerHTML = html;
    const after = Array.from(part.querySelectorAll(FOCUSABLE));
    const same = (had.id && after.find((node) => node.id === had.id))
      || (href && after.find((node) => node.getAttribute("href") === href))
      || after.find((node) => node.tagName === had.tagName && node.textContent.trim() === text)
      || after[Math.min(position, after.length - 1)];
    if (same) same.focus({ preventScroll: true });
  }

  // Countdowns -------------------------------------------------------------------------
  function formatLeft(ms) {
    if (ms <= 0) return t("now");
    const total = Math.floor(ms / 1000);
    const h = Math.floor(total / 3600);
    const m = Math.floor((total % 3600) / 60);
    const s = total % 60;
    const pad = (n) => String(n).padStart(2, "0");
    if (h >= 24) return t("days", { days: Math.floor(h / 24), hours: h % 24 });
    return (h ? h + ":" + pad(m) : m) + ":" + pad(s);
  }
  function startCountdowns(scope) {
    scope.querySelectorAll("time[data-countdown]").forEach((el) => {
      const target = Date.parse(el.getAttribute("datetime"));
      if (Number.isNaN(target)) return;
      const at = new Date(target).toLocaleTimeString(LANG);
      el.setAttribute("aria-label", t("at", { time: at }));
      el.textContent = formatLeft(target - Date.now() - skew);
    });
  }
  window.setInterval(() => startCountdowns(document), 1000);

  // The best-score chart ---------------------------------------------------------------
  const COLOURS = ["#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9",
    "#64748B", "#7F3C8D", "#999999", "#F0E442"];
  const SVG = "http://www.w3.org/2000/svg";
  function el(name, attrs, text) {
    const node = document.createElementNS(SVG, name);
    for (const [key, value] of Object.entries(attrs)) node.setAttribute(key, value);
    if (text !== undefined) node.textContent = text;
    return node;
  }
  function drawCharts(history) {
    document.querySelectorAll("[data-history-chart]").forEach((box) => drawChart(box, history));
  }
  function drawChart(box, history) {
    const W = 480, H = 240, L = 40, R = 10, T = 10, B = 28;
    const start = Date.parse(history.start);
    const names = Object.keys(history.series || {}).sort();
    let end = Date.parse(history.end);
    for (const name of names) {
      for (const [when] of history.series[name]) end = Math.max(end, Date.parse(when));
    }
    const span = Math.max(end - start, 1000);
    const x = (t) => L + ((t - start) / span) * (W - L - R);
    // Scores in 0..1 by default; a regression round sends its own range (errors are unbounded).
    const low = history.low ?? 0, high = history.high ?? 1;
    const y = (v) => T + (1 - (v - low) / ((high - low) || 1)) * (H - T - B);
    // The picture is one image to a screen reader, named by the groups' latest scores; the
    // legend below stays readable text (inside a role="img" it would be hidden).
    const latest = names.filter((name) => history.series[name].length).map((name) => {
      const steps = history.series[name];
      return name + " " + decimals(steps[steps.length - 1][1], 3);
    });
    const svg = el("svg", { viewBox: "0 0 " + W + " " + H, class: "history", role: "img",
      "aria-label": latest.length ? t("chart", { scores: latest.join(", ") }) : t("chart_empty"),
    });
    for (const v of [0, 0.25, 0.5, 0.75, 1].map((f) => low + f * (high - low))) {
      svg.appendChild(el("line", { x1: L, x2: W - R, y1: y(v), y2: y(v), class: "grid" }));
      svg.appendChild(el("text", { x: L - 4, y: y(v) + 4, "text-anchor": "end", class: "axis" },
        decimals(v, 2)));
    }
    svg.appendChild(el("text", { x: (L + W - R) / 2, y: H - 6, "text-anchor": "middle",
      class: "axis" }, t("axis")));
    const legend = document.createElement("p");
    legend.className = "chart-legend";
    names.forEach((name, index) => {
      const colour = COLOURS[index % COLOURS.length];
      const steps = history.series[name];
      if (!steps.length) return;
      let d = "";
      let last = null;
      for (const [when, value] of steps) {
        const px = x(Date.parse(when)).toFixed(1), py = y(value).toFixed(1);
        d += d ? " H" + px + " V" + py : "M" + px + " " + py;
        last = value;
      }
      d += " H" + (W - R);
      svg.appendChild(el("path", { d: d, stroke: colour, class: "series" }));
      const item = document.createElement("span");
      item.className = "legend";
      const swatch = document.createElement("span");
      swatch.className = "swatch";
      swatch.style.background = colour;
      item.append(swatch, name + " " + decimals(last, 3));
      legend.appendChild(item);
    });
    box.replaceChildren(svg, legend);
    if (!names.length) {
      const empty = document.createElement("p");
      empty.textContent = t("no_scores");
      box.appendChild(empty);
    }
  }

  // The "Job N is queued." notice follows its job through the live job list ---------------
  function followNotices() {
    document.querySelectorAll(".message.job-notice").forEach((notice) => {
      const match = /\bjob-(\d+)\b/.exec(notice.className);
      if (!match) return;
      const row = document.querySelector('[data-part="jobs"] tr[data-job="' + match[1] + '"]');
      if (!row || row.dataset.state === notice.dataset.state) return;
      notice.dataset.state = row.dataset.state;
      const link = document.createElement("a");
      link.href = row.querySelector("a") ? row.querySelector("a").getAttribute("href") : "#jobs";
      link.textContent = t("job", { id: match[1] });
      const test = row.querySelector("[data-test]");
      const state = row.dataset.state;
      const words = ["queued", "running", "done", "failed"].includes(state)
        ? t(state, { score: test ? test.textContent.trim() : "" })
        : t("other", { state: state });
      notice.replaceChildren(link, words);
      notice.classList.toggle("error", row.dataset.state === "failed");
      notice.classList.toggle("success", row.dataset.state !== "failed");
    });
  }

  // The job form: show the chosen algorithm's parameters only -----------------------------
  function startAlgorithmSwitch() {
    const select = document.querySelector("#submit-form select[name=algorithm]");
    if (!select) return;
    const show = () => {
      document.querySelectorAll("#submit-form fieldset.params").forEach((set) => {
        const on = set.dataset.algorithm === select.value;
        set.hidden = !on;
        set.disabled = !on;
      });
    };
    select.addEventListener("change", show);
    show();
    // Each preprocessing slot shows the chosen step's parameters only.
    document.querySelectorAll("#submit-form .step-slot").forEach((slot) => {
      const kind = slot.querySelector("select");
      if (!kind) return;
      const showStep = () => {
        slot.querySelectorAll("fieldset.step-params").forEach((set) => {
          const on = set.dataset.step === kind.value;
          set.hidden = !on;
          set.disabled = !on;
        });
      };
      kind.addEventListener("change", showStep);
      showStep();
    });
  }

  // The dataset form: show the chosen source's fields only -------------------------------
  function startSourceSwitch() {
    const form = document.getElementById("dataset-form");
    if (!form) return;
    const show = () => {
      const chosen = form.querySelector("input[name=source]:checked");
      form.querySelectorAll("fieldset.source").forEach((set) => {
        set.hidden = !chosen || set.dataset.source !== chosen.value;
      });
    };
    form.querySelectorAll("input[name=source]").forEach((r) => r.addEventListener("change", show));
    show();
  }

  // The show's buttons (projector, manage page): the progress lives on the server -----------
  // Each button's form posts to the server, which every student's page polls; the script
  // only saves the page a reload and asks its live root for the new parts at once.
  document.addEventListener("submit", async (event) => {
    const form = event.target.closest("form[data-reveal-form]");
    if (!form) return;
    const root = form.closest("[data-live]");
    if (!root || !root.liveTick) return; // no live root: the form's own reload is fine
    event.preventDefault();
    if (form.dataset.pending) return; // one step per press, however fast the clicker
    // aria-disabled, not disabled: a disabled button drops the keyboard's focus to the top of
    // the page, and the presenter's next Space would go nowhere.
    form.dataset.pending = "1";
    const buttons = form.querySelectorAll("button");
    buttons.forEach((b) => b.setAttribute("aria-disabled", "true"));
    try {
      await fetch(form.action, {
        method: "POST",
        body: new FormData(form),
        headers: { Accept: "application/json" },
        credentials: "same-origin",
      });
    } catch (error) {
      // The next poll shows where the show stands.
    }
    await root.liveTick();
    // The new parts bring new forms; this one, if it is still there, may be pressed again.
    delete form.dataset.pending;
    buttons.forEach((b) => b.removeAttribute("aria-disabled"));
  });
  document.addEventListener("keydown", (event) => {
    // On the projector only (elsewhere Space scrolls): Space or the right arrow reveals the next
    // place, "a" all of them (a presenter's clicker).
    if (!document.body.classList.contains("projector")) return;
    if (event.ctrlKey || event.metaKey || event.altKey) return; // Ctrl+A selects, not reveals
    if (event.target.closest("input, select, textarea, button, a")) return;
    let button = null;
    if (event.key === " " || event.key === "ArrowRight") {
      button = document.querySelector("[data-reveal-next]");
    } else if (event.key === "a" || event.key === "A") {
      button = document.querySelector("[data-reveal-all]");
    }
    if (!button || button.disabled || button.form.dataset.pending) return;
    event.preventDefault();
    button.form.requestSubmit(button);
  });

  document.addEventListener("DOMContentLoaded", () => {
    document.querySelectorAll("[data-live]").forEach(startLive);
    startCountdowns(document);
    const data = document.getElementById("history-data");
    if (data) drawCharts(JSON.parse(data.textContent));
    startAlgorithmSwitch();
    startSourceSwitch();
    followNotices();
  });
})();
