// Account form: client-side validation, then a success message (nothing is
// sent anywhere: this is a demo).
document.addEventListener("DOMContentLoaded", () => {
  const form = document.getElementById("signup");
  const error = document.getElementById("form-error");
  form.addEventListener("submit", (e) => {
    e.preventDefault();
    const data = new FormData(form);
    if (!String(data.get("name")).trim()) {
      error.textContent = "Please tell us your name.";
      return;
    }
    if (!/^[^@\s]+@[^@\s]+\.[^@\s]+$/.test(String(data.get("email")))) {
      error.textContent = "That email address does not look right.";
      return;
    }
    if (String(data.get("password")).length < 8) {
      error.textContent = "Passwords need at least 8 characters.";
      return;
    }
    error.textContent = "";
    document.getElementById("submit").disabled = true;
    document.getElementById("form-success").hidden = false;
    if (window.SessionReplay && window.SessionReplay.setUser) {
      window.SessionReplay.setUser({ id: "demo-" + String(data.get("name")).trim().toLowerCase().replace(/\W+/g, "-"), name: String(data.get("name")).trim() });
    }
  });
});
