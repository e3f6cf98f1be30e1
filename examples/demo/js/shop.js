// Shop page: filter chips, sorting (reorders the list in the DOM), add to
// cart, and a product details <dialog>.
document.addEventListener("DOMContentLoaded", () => {
  const list = document.getElementById("products");
  const items = () => Array.from(list.children);
  const featured = items();

  for (const chip of document.querySelectorAll("[data-filter]")) {
    chip.addEventListener("click", () => {
      for (const other of document.querySelectorAll("[data-filter]")) {
        other.setAttribute("aria-pressed", String(other === chip));
      }
      const roast = chip.dataset.filter;
      for (const item of items()) {
        item.hidden = roast !== "all" && item.dataset.roast !== roast;
      }
    });
  }

  document.getElementById("sort").addEventListener("change", (e) => {
    const by = e.target.value;
    const sorted = by === "featured" ? featured.slice() : items().sort((a, b) => {
      if (by === "name") return a.querySelector("h3").textContent.localeCompare(b.querySelector("h3").textContent);
      const d = Number(a.dataset.price) - Number(b.dataset.price);
      return by === "price-asc" ? d : -d;
    });
    list.append(...sorted);
  });

  list.addEventListener("click", (e) => {
    const add = e.target.closest("[data-add]");
    if (add) {
      const item = add.closest(".product");
      window.CaddyCoffee.addToCart({
        id: item.dataset.id,
        name: item.querySelector("h3").textContent,
        price: item.dataset.price,
      });
      item.classList.add("added");
      add.textContent = "Added ✓";
      setTimeout(() => {
        item.classList.remove("added");
        add.textContent = "Add to cart";
      }, 1200);
      return;
    }
    const img = e.target.closest("[data-details]");
    if (img) {
      const item = img.closest(".product");
      document.getElementById("details-title").textContent = item.querySelector("h3").textContent;
      document.getElementById("details-notes").textContent =
        "Tasting notes: " + item.querySelector(".notes").textContent + ". Roasted to order.";
      document.getElementById("details").showModal();
    }
  });
});
