/* The service worker of the field pages, imported by /sw.js after its configuration
 * (self.GRID_PWA, from governance/pwa/shell.py). Design: governance/pwa/README.md.
 *
 * - shell (CSS, JS, icons, the offline and waiting pages): cached on install, served
 *   from the cache;
 * - field pages: network first, a copy kept per visit, the copy when the network fails
 *   (or is too slow); a page never kept is drawn by the offline page from the bundle;
 * - the offline bundle (the user's grid data): fetched after sign-in, kept;
 * - field form posts that fail for want of a network: queued (offline-queue.js) and
 *   answered with the waiting list;
 * - never kept: posts, the admin, the API, private links, photos; a sign-out or a
 *   sign-in drops the pages and data kept for the previous user. */
(function () {
  "use strict";

  var C = self.GRID_PWA;
  var Q = self.GridQueue;
  var SHELL = "gridpwa-shell-" + C.version;
  var PAGES = "gridpwa-pages-" + C.version;
  var DATA = "gridpwa-data-" + C.version;
  var CURRENT = [SHELL, PAGES, DATA];
  var NETWORK_TIMEOUT_MS = 8000;
  var MAX_PAGES = 80;
  var SYNC_TAG = "gridpwa-queue";
  var queueable = C.queueable.map(function (source) { return new RegExp(source); });
  var shellPaths = new Set(C.shell);

  function startsWithAny(path, prefixes) {
    return prefixes.some(function (prefix) { return path.indexOf(prefix) === 0; });
  }

  function isFieldPage(path) {
    return path === C.start || (startsWithAny(path, C.fieldPrefixes) && !startsWithAny(path, C.neverCached));
  }

  function isQueueable(path) {
    return queueable.some(function (pattern) { return pattern.test(path); });
  }

  function keepPage(response) {
    var type = response.headers.get("Content-Type") || "";
    var control = response.headers.get("Cache-Control") || "";
    return response.status === 200 && response.type === "basic" && !response.redirected &&
      type.indexOf("text/html") === 0 && control.indexOf("no-store") < 0;
  }

  function lookup(cacheName, url) {
    return caches.open(cacheName).then(function (cache) {
      return cache.match(url, { ignoreVary: true });
    });
  }

  function trim(cache) {
    return cache.keys().then(function (keys) {
      var extra = keys.length - MAX_PAGES;
      return Promise.all(keys.slice(0, Math.max(extra, 0)).map(function (key) { return cache.delete(key); }));
    });
  }

  function remember(cacheName, url, response) {
    return caches.open(cacheName).then(function (cache) {
      return cache.delete(url).then(function () { return cache.put(url, response); }).then(function () {
        return cacheName === PAGES ? trim(cache) : null;
      });
    });
  }

  function extend(event, promise) {
    try {
      event.waitUntil(promise);
    } catch (error) {
      // the answer is already out; the copy is kept all the same while the worker lives
    }
  }

  /* The network's answer, kept when ``keep`` says so; the kept copy when the network fails
   * or takes longer than NETWORK_TIMEOUT_MS; null when there is neither. */
  function networkFirst(event, request, cacheName, keep) {
    var url = request.url;
    var network = fetch(request).then(function (response) {
      if (keep(response)) {
        extend(event, remember(cacheName, url, response.clone()));
      }
      return response;
    });
    network.catch(function () {});
    var slow = new Promise(function (resolve) { setTimeout(resolve, NETWORK_TIMEOUT_MS); }).then(function () {
      return lookup(cacheName, url);
    });
    return Promise.race([network, slow]).then(function (first) {
      return first || network;
    }).catch(function () {
      return lookup(cacheName, url);
    });
  }

  function page(event) {
    return networkFirst(event, event.request, PAGES, keepPage).then(function (response) {
      return response || lookup(SHELL, C.offline);
    }).then(function (response) {
      return response || Response.error();
    });
  }

  function fromShell(request) {
    var path = new URL(request.url).pathname;
    return lookup(SHELL, path).then(function (cached) {
      return cached || fetch(request);
    });
  }

  function tellClients(message) {
    return self.clients.matchAll({ includeUncontrolled: true }).then(function (clients) {
      clients.forEach(function (client) { client.postMessage(message); });
    });
  }

  function askForSync() {
    if (self.registration.sync) {
      return self.registration.sync.register(SYNC_TAG).catch(function () {});
    }
    return Promise.resolve();
  }

  /* A field form's post: to the network; if the network is not there, into the queue
   * (the form carries its idempotency key, so a post that did arrive is not doubled). */
  function postOrQueue(event, url) {
    var copy = event.request.clone();
    return fetch(event.request).catch(function (failure) {
      return Promise.all([copy.formData(), Q.meta("user")]).then(function (parts) {
        var data = parts[0];
        var user = parts[1];
        if (!user || !data.get("idempotency_key")) {
          throw failure; // anonymous or without a key: it cannot wait safely
        }
        var from = event.request.referrer ? new URL(event.request.referrer).pathname : "";
        return Q.add(Q.fromFormData(url.href, data, user, from));
      }).then(function (item) {
        extend(event, askForSync().then(function () { return tellClients({ type: "queue-changed" }); }));
        return Response.redirect(C.queue + "?added=" + item.id, 303);
      });
    });
  }

  function forgetUser() {
    return Promise.all([caches.delete(PAGES), caches.delete(DATA), Q.setMeta("warmedAt", 0)]);
  }

  /* After a sign-in: the user's grid data and the pages a form needs offline. */
  function warm() {
    return fetch(C.bundle, { credentials: "same-origin", cache: "no-store" }).then(function (response) {
      if (!response.ok || response.redirected) {
        return false; // nobody signed in
      }
      return remember(DATA, C.bundle, response).then(function () {
        return Promise.all(C.warm.map(function (path) {
          // marked, so that the page does not show (and use up) the user's messages
          return fetch(path, { credentials: "same-origin", headers: { "X-PWA-Prefetch": "1" } }).then(function (answer) {
            return keepPage(answer) ? remember(PAGES, path, answer) : null;
          });
        }));
      }).then(function () {
        return Q.setMeta("warmedAt", Date.now()).then(function () { return true; });
      });
    }).catch(function () {
      return false;
    });
  }

  function refreshShellPages() {
    return caches.open(SHELL).then(function (cache) {
      return cache.addAll(C.shellPages.map(function (path) { return new Request(path, { cache: "reload" }); }));
    });
  }

  self.addEventListener("install", function (event) {
    event.waitUntil(caches.open(SHELL).then(function (cache) {
      return cache.addAll(C.shell.map(function (path) { return new Request(path, { cache: "reload" }); }));
    }).then(function () {
      return self.skipWaiting();
    }));
  });

  self.addEventListener("activate", function (event) {
    event.waitUntil(caches.keys().then(function (names) {
      return Promise.all(names.filter(function (name) {
        return name.indexOf("gridpwa-") === 0 && CURRENT.indexOf(name) < 0;
      }).map(function (name) { return caches.delete(name); }));
    }).then(function () {
      return self.clients.claim();
    }));
  });

  self.addEventListener("fetch", function (event) {
    var request = event.request;
    var url = new URL(request.url);
    if (url.origin !== self.location.origin) {
      return;
    }
    var path = url.pathname;
    if (request.method === "POST") {
      if (path === C.logout || path === C.login) {
        extend(event, forgetUser()); // the next pages and data are someone else's
      } else if (request.mode === "navigate" && isQueueable(path)) {
        event.respondWith(postOrQueue(event, url));
      }
      return;
    }
    if (request.method !== "GET") {
      return;
    }
    if (shellPaths.has(path)) {
      event.respondWith(fromShell(request));
    } else if (path === C.bundle) {
      event.respondWith(networkFirst(event, request, DATA, function (r) { return r.ok && !r.redirected; }).then(function (r) {
        return r || Response.error();
      }));
    } else if (request.mode === "navigate" && isFieldPage(path)) {
      event.respondWith(page(event));
    }
  });

  self.addEventListener("message", function (event) {
    var data = event.data || {};
    var reply = function (message) {
      if (event.source) {
        event.source.postMessage(message);
      }
    };
    if (data.type === "warm") {
      event.waitUntil(warm().then(function (ok) { reply({ type: "warmed", ok: ok }); }));
    } else if (data.type === "forget") {
      event.waitUntil(forgetUser().then(function () { reply({ type: "forgotten" }); }));
    } else if (data.type === "refresh-shell") {
      event.waitUntil(refreshShellPages().catch(function () {}));
    }
  });

  self.addEventListener("sync", function (event) {
    if (event.tag === SYNC_TAG) {
      event.waitUntil(Q.flush(C).then(function (summary) {
        return tellClients({ type: "queue-changed", summary: summary });
      }));
    }
  });
})();
