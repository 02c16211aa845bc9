// Latchkey's service worker. The build writes the two lines below: the files of this build's
// app shell and a version derived from their contents, so a new deployment is a new worker.
const VERSION = "__VERSION__";
const PRECACHE = __PRECACHE__;

const SHELL = `shell-${VERSION}`;
// The administration and "Can't sign in?" bundles, cached when visited.
const VISITED = `visited-${VERSION}`;
const VISITED_PREFIXES = ["/admin/", "/recover/"];
// Pages whose network copy differs from this worker's cached one: a newer build than this
// worker's, whose files without a hash in their name must come from the network too, never
// this worker's older copies. (Kept while the worker runs; a restarted worker serves its own.)
const NEWER_PAGES = new Set();
// Each page's comparison with this worker's copy, while it runs: the page gets its response at
// once, and its requests for files without a hash wait for the verdict instead.
const COMPARING = new Map();

self.addEventListener("install", (event) => {
  // Waits to take over until the page asks (its "Reload"), so one page never mixes versions.
  // Asked of the server again (a 304 when unchanged): a file whose name did not change with
  // its content must not come from the HTTP cache's old copy.
  const fresh = PRECACHE.map((url) => new Request(url, { cache: "no-cache" }));
  event.waitUntil(caches.open(SHELL).then((cache) => cache.addAll(fresh)));
  // This build's hashed files come from the cache without waking the worker's script (the
  // browser looks them up itself; a miss goes to the network): what asset() would do for them.
  // A browser without static routes runs the fetch handler for them as before.
  if (!event.addRoutes) return;
  const routes = PRECACHE.filter((path) => hashed(new URL(path, self.location))).map((pathname) => ({
    condition: { urlPattern: new URLPattern({ pathname }) },
    source: "cache",
  }));
  event.waitUntil(event.addRoutes(routes).catch(() => {}));
  // The API goes to the network without waking the worker's script at all (the fetch handler
  // would only pass it on): the page's first request, for the session, is not kept waiting.
  const api = { condition: { urlPattern: new URLPattern({ pathname: "/api/*" }) }, source: "network" };
  event.waitUntil(event.addRoutes(api).catch(() => {}));
});

self.addEventListener("message", (event) => {
  if (event.data === "take-over") self.skipWaiting();
});

self.addEventListener("activate", (event) => {
  event.waitUntil(
    caches
      .keys()
      .then((names) => Promise.all(names.filter((n) => n !== SHELL && n !== VISITED).map((n) => caches.delete(n))))
      // A navigation's request to the server starts while the worker boots (it is still
      // network-first): the page no longer waits for the worker, then for the server.
      .then(() => self.registration.navigationPreload?.enable())
      .then(() => self.clients.claim()),
  );
});

self.addEventListener("fetch", (event) => {
  const request = event.request;
  const url = new URL(request.url);
  // The API (and the key relay's WebSocket, which never reaches a worker) goes straight to the
  // network: nothing of it is cached, and nothing is queued to be replayed later.
  if (request.method !== "GET" || url.origin !== self.location.origin || url.pathname.startsWith("/api/")) return;
  if (url.pathname === "/sw.js") return;
  event.respondWith(
    request.mode === "navigate" ? navigation(event, request, url) : asset(request, url, event.clientId),
  );
});

/** Pages: the network first, so a deployment is seen at once; the cached shell when it is out of reach. */
async function navigation(event, request, url) {
  const bundle = VISITED_PREFIXES.find((p) => url.pathname.startsWith(p));
  // Read while the network answers, not after.
  const mine = caches.match(bundle ? `${bundle}index.html` : "/index.html");
  try {
    const response = (await event.preloadResponse) || (await fetch(request));
    if (!response.ok) return response;
    const client = event.resultingClientId;
    const compared = compare(mine, response.clone(), client);
    COMPARING.set(client, compared);
    event.waitUntil(compared.finally(() => COMPARING.delete(client)));
    // Only the bundle's own page is kept as its shell: a mistyped path under it is served the
    // portal's page, which must not take the bundle's place.
    const own = bundle && (url.pathname === bundle || url.pathname === `${bundle}index.html`);
    if (own) event.waitUntil(put(VISITED, `${bundle}index.html`, response.clone()));
    return response;
  } catch (offline) {
    const shell = await mine;
    if (shell) return shell;
    throw offline;
  }
}

/** Marks the page as a newer build's when the network's copy differs from this worker's. */
async function compare(mine, theirs, client) {
  const cached = await mine;
  if (cached && (await cached.text()) !== (await theirs.text())) NEWER_PAGES.add(client);
}

/** The cache first. Only a page of a newer build than this worker's gets the files without a
 * hash in their name (pwa.js, the manifest, icons, wasm-bindgen's snippets) from the network
 * first, so it never runs beside this worker's older copies; the cache when the network is out
 * of reach. */
async function asset(request, url, client) {
  await COMPARING.get(client)?.catch(() => {});
  const cached = await caches.match(request);
  if (cached && (hashed(url) || !NEWER_PAGES.has(client))) return cached;
  try {
    const response = await fetch(request);
    if (response.ok && VISITED_PREFIXES.some((p) => url.pathname.startsWith(p))) {
      await put(VISITED, request, response.clone());
    }
    return response;
  } catch (offline) {
    if (cached) return cached;
    throw offline;
  }
}

/** The build names a file after its content: `name-<hash>.ext` or `name-<hash>_bg.wasm`. */
function hashed(url) {
  const name = url.pathname.split("/").pop();
  return /-[0-9a-f]{12,}[._]/.test(name);
}

async function put(name, key, response) {
  const cache = await caches.open(name);
  await cache.put(key, response);
}
