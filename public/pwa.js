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
  // "Reload" hands over to whichever worker is waiting when it is pressed (a later deployment
  // may have replaced the one it was offered for); with none waiting, a new worker is already
  // in charge (another tab's Reload) and the page just loads again.
  const reload = async () => {
    const waiting = (await navigator.serviceWorker.getRegistration())?.waiting;
    if (!waiting) return location.reload();
    takingOver = true;
    waiting.postMessage("take-over");
  };
  const offerReload = () => {
    if (document.getElementById("update")) return;
    const note = document.createElement("p");
    note.id = "update";
    note.setAttribute("role", "status");
    bar().append(note);
    // Written into the live region after it is in the page, so it is announced.
    note.append("A new version is ready — ", button("update-reload", "Reload", reload));
  };
  // Whether a worker served this page: the first install's takes it over without a new build.
  let controlled = Boolean(navigator.serviceWorker.controller);
  navigator.serviceWorker.addEventListener("controllerchange", () => {
    // Another tab's Reload put a new worker in charge of this page, still running the old
    // code: ask, never reload under the user's typing.
    if (takingOver) location.reload();
    else if (controlled) offerReload();
    controlled = true;
  });
  // Registered once the page has loaded and its app has started (Trunk's loader announces it):
  // installing the worker fetches and stores the whole shell again, which must not compete
  // with the first visit's own start.
  const register = () =>
    navigator.serviceWorker
      .register("/sw.js", { scope: "/" })
      .then((registration) => {
        const watch = (worker) =>
          worker.addEventListener("statechange", () => {
            if (worker.state === "installed" && navigator.serviceWorker.controller) offerReload();
          });
        if (registration.waiting && navigator.serviceWorker.controller) offerReload();
        if (registration.installing) watch(registration.installing);
        registration.addEventListener("updatefound", () => watch(registration.installing));
        // A page left open for days still hears of a deployment.
        setInterval(() => registration.update().catch(() => {}), 60 * 60 * 1000);
      })
      .catch(() => {
        // No worker (a browser that refuses it, a server without sw.js): the portal works
        // online as a plain page.
      });
  let pending = 2;
  const ready = () => --pending === 0 && register();
  addEventListener("TrunkApplicationStarted", ready, { once: true });
  if (document.readyState === "complete") ready();
  else addEventListener("load", ready, { once: true });
})();
