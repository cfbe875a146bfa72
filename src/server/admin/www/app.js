// SPDX-License-Identifier: ISC
// The operator page (D86): reads the JSON API every few seconds and
// draws it.  Every value is put in the page with textContent or an SVG
// attribute, never as markup: names and errors come from requesters.
"use strict";

const REFRESH_MS = 5000;
const SVG = "http://www.w3.org/2000/svg";

function el(tag, text, cls) {
  const e = document.createElement(tag);
  if (text !== undefined) e.textContent = String(text);
  if (cls) e.className = cls;
  return e;
}

function svg(tag, attrs) {
  const e = document.createElementNS(SVG, tag);
  for (const k in attrs) e.setAttribute(k, String(attrs[k]));
  return e;
}

function utc(t) {
  return t ? new Date(t * 1000).toISOString().replace("T", " ").slice(0, 19) : "";
}

async function get(url) {
  const r = await fetch(url, { credentials: "same-origin", cache: "no-store" });
  if (r.status === 401) {
    window.location.assign("/login");
    throw new Error("logged out");
  }
  if (!r.ok) throw new Error(url + ": HTTP " + r.status);
  return r.json();
}

// A bar per minute, oldest left; data-total and data-points say what
// it shows (the tests read them).
function plot(id, values, cls, now) {
  const g = document.getElementById(id);
  const w = 600, h = 120, top = 12, bottom = 16, left = 28;
  const max = Math.max(1, ...values);
  const bw = (w - left) / values.length;
  const total = values.reduce((a, b) => a + b, 0);
  g.replaceChildren();
  g.setAttribute("data-total", String(total));
  g.setAttribute("data-points", String(values.length));
  g.appendChild(svg("line", { x1: left, y1: h - bottom, x2: w, y2: h - bottom, stroke: "#999" }));
  const ymax = svg("text", { x: 2, y: top + 4 });
  ymax.textContent = String(max);
  g.appendChild(ymax);
  values.forEach((v, i) => {
    const bh = (h - top - bottom) * v / max;
    const r = svg("rect", {
      x: left + i * bw + 1, y: h - bottom - bh, width: Math.max(1, bw - 2),
      height: bh, class: cls, "data-count": v,
    });
    const tip = svg("title", {});
    tip.textContent = utc(now - (values.length - 1 - i) * 60).slice(11, 16) + " UTC: " + v;
    r.appendChild(tip);
    g.appendChild(r);
  });
  const l = svg("text", { x: left, y: h - 3 });
  l.textContent = values.length + " min ago";
  g.appendChild(l);
  const n = svg("text", { x: w - 22, y: h - 3 });
  n.textContent = "now";
  g.appendChild(n);
  return total;
}

function rows(tableId, items, cells) {
  const body = document.querySelector("#" + tableId + " tbody");
  body.replaceChildren();
  for (const it of items) {
    const tr = el("tr");
    for (const c of cells(it)) tr.appendChild(c);
    body.appendChild(tr);
  }
}

async function refresh() {
  const [rates, failures, validations] = await Promise.all([
    get("/api/rates"), get("/api/failures"), get("/api/validations")]);
  document.getElementById("issued-total").textContent =
    plot("plot-issued", rates.issued, "bar-issued", rates.now);
  document.getElementById("failed-total").textContent =
    plot("plot-failed", rates.failed, "bar-failed", rates.now);
  document.getElementById("failures-since").textContent = utc(failures.since) + " UTC";
  rows("failures", failures.types, (f) => [el("td", f.type), el("td", f.count)]);
  rows("validations", validations, (v) => [
    el("td", utc(v.time)), el("td", v.type), el("td", v.identifier),
    el("td", v.status, v.status), el("td", v.problem), el("td", v.detail, "detail")]);
  document.getElementById("updated").textContent = "updated " + utc(rates.now) + " UTC";
}

async function search(ev) {
  ev.preventDefault();
  const name = document.getElementById("name").value.trim();
  const out = document.getElementById("search-result");
  const r = await fetch("/api/certs?name=" + encodeURIComponent(name),
    { credentials: "same-origin", cache: "no-store" });
  const doc = await r.json();
  if (!r.ok) {
    out.textContent = doc.detail || ("HTTP " + r.status);
    rows("certs", [], () => []);
    return;
  }
  out.textContent = doc.certificates.length + " certificate(s) for " + doc.name +
    (doc.truncated ? " (the first " + doc.certificates.length + ")" : "");
  rows("certs", doc.certificates, (c) => [
    el("td", c.serial, "serial"), el("td", c.status, c.status),
    el("td", utc(c.not_before)), el("td", utc(c.not_after)),
    el("td", c.account), el("td", c.order)]);
}

function tick() {
  refresh().catch((e) => {
    document.getElementById("updated").textContent = String(e.message);
  });
}

document.addEventListener("DOMContentLoaded", () => {
  document.getElementById("search").addEventListener("submit", (ev) => {
    search(ev).catch((e) => {
      document.getElementById("search-result").textContent = String(e.message);
    });
  });
  tick();
  setInterval(tick, REFRESH_MS);
});
