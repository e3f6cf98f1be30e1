// Dashboard: a small single-page app. Links are intercepted and routed with
// history.pushState, the back button with popstate: each route is a new
// "view" for the recorder.
const orders = [
  ["#1042", "Ethiopia Guji", "2 × 250 g", "Delivered"],
  ["#1038", "House Espresso", "1 × 1 kg", "Delivered"],
  ["#1031", "Kenya Kiambu", "1 × 250 g", "Delivered"],
  ["#1027", "Colombia Huila", "3 × 250 g", "Refunded"],
  ["#1019", "Brazil Santos", "1 × 1 kg", "Delivered"],
  ["#1012", "Guatemala Antigua", "2 × 250 g", "Delivered"],
  ["#1008", "Ethiopia Guji", "1 × 250 g", "Delivered"],
  ["#1003", "House Espresso", "2 × 1 kg", "Delivered"],
];

function el(tag, attrs = {}, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v);
  e.append(...children);
  return e;
}

function overview() {
  const canvas = el("canvas", { width: "600", height: "200", id: "chart", "aria-label": "Cups brewed per week" });
  const view = [
    el("h1", {}, "Good morning"),
    el("div", { class: "stats" },
      el("div", { class: "stat" }, el("b", {}, "14"), "bags this year"),
      el("div", { class: "stat" }, el("b", {}, "3.2 kg"), "coffee roasted for you"),
      el("div", { class: "stat" }, el("b", {}, "Thu"), "next delivery")),
    el("h2", {}, "Cups brewed per week"),
    canvas,
  ];
  requestAnimationFrame(() => drawChart(canvas));
  return view;
}

function drawChart(canvas) {
  const ctx = canvas.getContext("2d");
  const values = [12, 15, 11, 18, 21, 17, 23, 20, 26, 24, 28, 25];
  const w = canvas.width, h = canvas.height, bw = w / values.length;
  ctx.clearRect(0, 0, w, h);
  values.forEach((v, i) => {
    const bh = (v / 30) * (h - 20);
    ctx.fillStyle = i === values.length - 1 ? "#e3a857" : "#7a3e1d";
    ctx.fillRect(i * bw + 6, h - bh, bw - 12, bh);
  });
}

function ordersView() {
  const rows = orders.map(([id, item, qty, status]) =>
    el("tr", {}, el("td", {}, id), el("td", {}, item), el("td", {}, qty), el("td", {}, status)));
  return [
    el("h1", {}, "Orders"),
    el("div", { class: "scroll-box", id: "orders-box" },
      el("table", {}, el("thead", {}, el("tr", {}, el("th", {}, "Order"), el("th", {}, "Coffee"), el("th", {}, "Size"), el("th", {}, "Status"))),
        el("tbody", {}, ...rows, ...rows.map((r) => r.cloneNode(true))))),
  ];
}

function settingsView() {
  const grind = el("select", { id: "grind" },
    el("option", { value: "whole" }, "Whole bean"),
    el("option", { value: "filter" }, "Filter"),
    el("option", { value: "espresso" }, "Espresso"));
  return [
    el("h1", {}, "Settings"),
    el("div", { class: "toggle" }, el("span", {}, "Pause my subscription"), el("input", { type: "checkbox", id: "pause" })),
    el("div", { class: "toggle" }, el("span", {}, "Grind"), grind),
    el("div", { class: "toggle" }, el("label", { for: "nickname" }, "Nickname on the bag"), el("input", { type: "text", id: "nickname", "data-replay-privacy": "allow" })),
  ];
}

const routes = { "/app/": overview, "/app/orders": ordersView, "/app/settings": settingsView };

function render() {
  const path = routes[location.pathname] ? location.pathname : "/app/";
  document.getElementById("view").replaceChildren(...routes[path]());
  for (const a of document.querySelectorAll("[data-route]")) {
    a.classList.toggle("active", a.getAttribute("href") === path);
  }
  document.title = document.querySelector("#view h1").textContent + " — Caddy Coffee";
}

document.addEventListener("DOMContentLoaded", () => {
  document.querySelector(".app-nav").addEventListener("click", (e) => {
    const a = e.target.closest("a[data-route]");
    if (!a) return;
    e.preventDefault();
    if (a.getAttribute("href") !== location.pathname) {
      history.pushState({}, "", a.getAttribute("href"));
      render();
    }
  });
  window.addEventListener("popstate", render);
  render();
});
