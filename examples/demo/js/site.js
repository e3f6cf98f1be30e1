// Shared by every page: the cart badge and drawer, kept in localStorage.
const KEY = "caddy-coffee-cart";

function readCart() {
  try {
    return JSON.parse(localStorage.getItem(KEY)) || [];
  } catch {
    return [];
  }
}

function writeCart(items) {
  localStorage.setItem(KEY, JSON.stringify(items));
  renderCart();
}

function addToCart(item) {
  writeCart([...readCart(), item]);
}

function renderCart() {
  const items = readCart();
  document.getElementById("cart-count").textContent = String(items.length);
  const list = document.getElementById("cart-items");
  list.replaceChildren(
    ...items.map((it) => {
      const li = document.createElement("li");
      const name = document.createElement("span");
      name.textContent = it.name;
      const price = document.createElement("span");
      price.textContent = "$" + it.price;
      li.append(name, price);
      return li;
    }),
  );
  document.getElementById("cart-empty").hidden = items.length > 0;
}

document.addEventListener("DOMContentLoaded", () => {
  renderCart();
  const button = document.getElementById("cart-button");
  const drawer = document.getElementById("cart");
  button.addEventListener("click", () => {
    drawer.hidden = !drawer.hidden;
    button.setAttribute("aria-expanded", String(!drawer.hidden));
  });
  document.getElementById("cart-clear").addEventListener("click", () => writeCart([]));
  const toggle = document.getElementById("subscribe-toggle");
  if (toggle) {
    toggle.addEventListener("click", () => {
      const details = document.getElementById("subscribe-details");
      details.hidden = !details.hidden;
      toggle.setAttribute("aria-expanded", String(!details.hidden));
      toggle.textContent = details.hidden ? "Show subscription details" : "Hide subscription details";
    });
  }
});

window.CaddyCoffee = { addToCart, readCart };
