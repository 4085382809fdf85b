// The calculator page: "select all", choosing from the type-ahead, and (on the
// static site) the totals for a choice of services, computed exactly with BigInt
// from the amounts in the page, as takst computes them (src/takst/web/calculator.py).
// No build step, no library. Without JavaScript the form still works (server).
"use strict";
(function () {
  const form = document.getElementById("choose");
  if (!form) return;
  const isStatic = document.body.dataset.mode === "static";
  const all = document.getElementById("all");
  const boxes = Array.from(form.querySelectorAll("input.service"));
  const input = document.getElementById("customer");
  const list = document.getElementById("organisations");

  function chosen() {
    const on = boxes.filter((b) => b.checked).map((b) => b.value);
    if (on.length === 0) return "none";
    return on.length === boxes.length ? "all" : on.join(",");
  }
  function optionFor(text) {
    const t = text.trim().toLowerCase();
    return Array.from(list.options).find(
      (o) => o.value.toLowerCase() === t || o.textContent.trim().toLowerCase() === t);
  }
  function go(target) {
    const url = new URL(target, window.location.href);
    url.searchParams.set("services", chosen());
    window.location.assign(url.toString());
  }
  function submit() {
    const option = optionFor(input.value);
    if (option && option.dataset.href) { go(option.dataset.href); return; }
    if (isStatic) {
      showProblem(input.value);
      return;
    }
    const url = new URL(form.action, window.location.href);
    url.search = "";
    if (input.value.trim()) url.searchParams.set("customer", input.value.trim());
    url.searchParams.set("services", chosen());
    window.location.assign(url.toString());
  }
  function showProblem(text) {
    let box = document.getElementById("static-problem");
    if (!box) {
      box = document.createElement("section");
      box.id = "static-problem";
      box.className = "problem";
      box.setAttribute("role", "alert");
      form.after(box);
    }
    box.textContent = "";
    const h = document.createElement("h2");
    h.textContent = "Unknown organisation";
    const p = document.createElement("p");
    p.className = "message";
    p.textContent = "no organisation '" + text + "' in the register";
    box.append(h, p);
  }

  form.addEventListener("submit", (ev) => { ev.preventDefault(); submit(); });
  input.addEventListener("change", () => { if (optionFor(input.value)) submit(); });
  all.addEventListener("change", () => {
    boxes.forEach((b) => { b.checked = all.checked; });
    changed();
  });
  boxes.forEach((b) => b.addEventListener("change", () => {
    all.checked = boxes.every((x) => x.checked);
    changed();
  }));

  function changed() {
    if (!isStatic) { submit(); return; }
    apply();
    try {
      const url = new URL(window.location.href);
      url.searchParams.set("services", chosen());
      window.history.replaceState(null, "", url.toString());
    } catch (e) { /* a file:// page may not rewrite its address */ }
  }

  // ---------------------------------------------------------------- static totals
  const table = document.getElementById("prices");
  const scale = table ? Number(table.dataset.scale) : 0;
  const ten = 10n ** BigInt(scale);
  function units(text) {  // "606360.00" -> BigInt at the table's scale
    if (text === "") return 0n;
    const neg = text.startsWith("-");
    const [whole, frac = ""] = text.replace("-", "").split(".");
    const v = BigInt(whole) * ten + BigInt((frac + "0".repeat(scale)).slice(0, scale) || "0");
    return neg ? -v : v;
  }
  function group(digits) {
    const sep = table.dataset.group;
    let out = "";
    for (let i = 0; i < digits.length; i++) {
      if (i > 0 && (digits.length - i) % 3 === 0) out += sep;
      out += digits[i];
    }
    return out;
  }
  function money(v) {
    const neg = v < 0n;
    const a = neg ? -v : v;
    const whole = (a / ten).toString();
    let frac = scale ? (a % ten).toString().padStart(scale, "0") : "";
    if (table.dataset.whole === "1" && /^0*$/.test(frac)) frac = "";
    else {
      frac = (frac + "00").replace(/0+$/, "");
      while (frac.length < 2) frac += "0";
    }
    return (neg ? "-" : "") + group(whole) + (frac ? table.dataset.decimal + frac : "");
  }
  function percent(change, base) {  // whole percent, half up (away from zero)
    const neg = (change < 0n) !== (base < 0n);
    const n = (change < 0n ? -change : change) * 100n;
    const d = base < 0n ? -base : base;
    let q = n / d;
    if ((n % d) * 2n >= d) q += 1n;
    const sign = q === 0n ? "" : (neg ? "-" : "+");
    return sign + group(q.toString()) + (table.dataset.plain === "1" ? "%" : "\u00a0%");
  }
  function set(id, text) {
    const cell = document.getElementById(id);
    if (!cell) return;
    const a = cell.querySelector("a");
    (a || cell).textContent = text;
  }
  function apply() {
    if (!table) return;
    const on = new Set(boxes.filter((b) => b.checked).map((b) => b.value));
    let existing = 0n, anyExisting = false, newTotal = 0n, added = 0n, anyAdded = false;
    let base = 0n, compared = 0n, anyCompared = false;
    const left = [];
    table.querySelectorAll("tbody tr").forEach((tr) => {
      const show = on.has(tr.dataset.charge);
      tr.hidden = !show;
      if (!show) return;
      const es = tr.dataset.existingState, ns = tr.dataset.newState;
      const ev = units(tr.dataset.existing), nv = units(tr.dataset.new);
      const fresh = es === "none" && ns === "ok";
      const comparable = es === "known" && (ns === "ok" || ns === "absent" || ns === "not offered");
      if (es === "known") { existing += ev; anyExisting = true; }
      if (ns === "ok" && !fresh) newTotal += nv;
      if (fresh) { added += nv; anyAdded = true; }
      if (comparable) { base += ev; compared += nv; anyCompared = true; }
      if (!comparable && !fresh) {
        const label = tr.querySelector("th").textContent;
        const why = ns === "pending" ? "the new price is pending"
          : es === "not known" ? "the existing price is not known" : "no price in either model";
        left.push(label + " (" + why + ")");
      }
    });
    set("existing-total", anyExisting ? money(existing) : "not known");
    set("new-total", money(newTotal));
    set("added-total", anyAdded ? money(added) : "");
    set("grand-total", money(newTotal + added));
    set("change-total", anyCompared ? money(compared - base) : "");
    set("change-percent", anyCompared && base !== 0n ? percent(compared - base, base) : "");
    set("change-base", anyCompared ? money(base) : "");
    const note = document.getElementById("change-note");
    if (note) note.hidden = !anyCompared;
    const lo = document.getElementById("left-out");
    if (lo) {
      lo.hidden = left.length === 0 || !anyExisting;  // none known: said once, below
      document.getElementById("left-out-list").textContent = left.join("; ");
    }
  }

  if (isStatic) {
    const params = new URLSearchParams(window.location.search);
    const wanted = params.get("customer");
    if (wanted && !table) {  // the site's front page, opened with ?customer=...
      const option = optionFor(wanted);
      if (option && option.dataset.href) { go(option.dataset.href); return; }
      input.value = wanted;
      showProblem(wanted);
    }
    const services = params.get("services");
    if (services && services !== "all") {
      const names = new Set(services === "none" ? [] : services.split(","));
      boxes.forEach((b) => { b.checked = names.has(b.value); });
      all.checked = boxes.every((x) => x.checked);
    }
    apply();
  }
})();
