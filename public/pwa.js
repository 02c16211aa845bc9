// Makes Latchkey an installed app: registers the service worker, offers "Reload" when a new
// version is ready (never swapping versions under an open page), and "Install Latchkey" where
// the browser offers installation.
(() => {
  const bar = () => {
    let aside = document.getElementById("app-bar");
    if (!aside) {
      aside = document.createElement("aside");
      aside.id = "app-bar";
      aside.className = "app-bar";
      aside.setAttribute("aria-label", "Latchkey app");
      document.body.prepend(aside);
    }
    return aside;
  };
  const button = (id, label, onClick) => {
    const b = document.createElement("button");
    b.type = "button";
    b.id = id;
    b.textContent = label;
    b.addEventListener("click", onClick);
    return b;
  };

  let deferredInstall = null;
  const installed = () => matchMedia("(display-mode: standalone)").matches;
  addEventListener("beforeinstallprompt", (event) => {
    event.preventDefault();
    deferredInstall = event;
    if (installed() || document.getElementById("install")) return;
    bar().append(
      button("install", "Install Latchkey", async (click) => {
        click.target.remove();
        deferredInstall.prompt();
        deferredInstall = null;
      }),
    );
  });
  addEventListener("appinstalled", () => document.getElementById("install")?.remove());

  if (!("serviceWorker" in navigator)) return;
  // Set by "Reload" only: the first install's worker also takes the page over, and that must
  // not reload it.
  let takingOver = false;
  navigator.serviceWorker.addEventListener("controllerchange", () => {
    if (takingOver) location.reload();
  });
  const offerReload = (worker) => {
    if (document.getElementById("update")) return;
    const note = document.createElement("p");
    note.id = "update";
    note.setAttribute("role", "status");
    note.append("A new version is ready — ");
    note.append(
      button("update-reload", "Reload", () => {
        takingOver = true;
        worker.postMessage("take-over");
      }),
    );
    bar().append(note);
  };
  navigator.serviceWorker.register("/sw.js", { scope: "/" }).then((registration) => {
    const watch = (worker) =>
      worker.addEventListener("statechange", () => {
        if (worker.state === "installed" && navigator.serviceWorker.controller) offerReload(worker);
      });
    if (registration.waiting && navigator.serviceWorker.controller) offerReload(registration.waiting);
    if (registration.installing) watch(registration.installing);
    registration.addEventListener("updatefound", () => watch(registration.installing));
    // A page left open for days still hears of a deployment.
    setInterval(() => registration.update().catch(() => {}), 60 * 60 * 1000);
  });
})();
