// Fills the admin form's ctfdeck challenge select from ctfdeck's catalog (through the plugin).
function ctfdeckFillCatalog(_CTFd) {
  const select = document.getElementById("ctfdeck-challenge");
  const error = document.getElementById("ctfdeck-catalog-error");
  if (!select) return;
  const current = select.dataset.current;
  _CTFd.fetch("/api/v1/ctfdeck/catalog", { method: "GET" })
    .then((r) => r.json())
    .then((r) => {
      if (!r.success) throw new Error(r.error.message);
      select.innerHTML = "";
      for (const c of r.data) {
        const option = document.createElement("option");
        option.value = c.id;
        option.textContent = `${c.id} — ${c.name} (${c.category})`;
        option.selected = c.id === current;
        select.appendChild(option);
      }
    })
    .catch((e) => {
      // ctfdeck unreachable: the id can still be typed.
      const input = document.createElement("input");
      input.className = "form-control";
      input.name = "ctfdeck_challenge";
      input.id = "ctfdeck-challenge";
      input.required = true;
      input.value = current || "";
      input.placeholder = "web-robots";
      select.replaceWith(input);
      error.textContent = `ctfdeck's catalog could not be read: ${e.message}`;
    });
}
