/* Every field page: the service worker, the idempotency keys of the forms, the offline
 * queue's badge and its sending, photos made smaller before they leave the phone, and a
 * clear word on forms that need a connection. Design: governance/pwa/README.md.
 *
 * Forms marked data-offline="queue" can wait on the phone: they carry a fresh
 * idempotency key each time the page is shown. Online they are posted as usual (the
 * service worker queues a post whose network fails); known to be offline, they go
 * straight into the queue. Other forms that post say they need a connection. */
(function () {
  "use strict";

  var Q = window.GridQueue;
  var body = document.body;
  if (!Q || !body) {
    return;
  }
  var config = {
    session: body.dataset.session,
    login: body.dataset.login,
    queue: body.dataset.queue,
    bundle: body.dataset.bundle,
  };
  var texts = (document.getElementById("pwa-texts") || body).dataset;
  // data-user is the signed-in user's id ("" for nobody); shell pages do not say
  var pageUser = "user" in body.dataset ? body.dataset.user : null;
  var WARM_EVERY_MS = 15 * 60 * 1000;
  var worker = "serviceWorker" in navigator ? navigator.serviceWorker : null;

  function freshKeys() {
    document.querySelectorAll('form[data-offline="queue"] input[name="idempotency_key"]').forEach(function (input) {
      input.value = Q.newKey();
    });
  }

  /* The phone's user changed (sign-in, sign-out, another account): drop what was kept. */
  function adoptUser(user) {
    return Q.meta("user").then(function (known) {
      if ((known || "") === user) {
        return user;
      }
      return dropUserCaches().then(function () {
        return Promise.all([Q.setMeta("user", user), Q.setMeta("warmedAt", 0)]);
      }).then(function () { return user; });
    });
  }

  var asked = null;

  /* Who is signed in: the page says so; a shell page (kept for anyone) asks the server
   * when it can, else goes by the last user the phone knew. */
  function currentUser() {
    if (pageUser !== null) {
      return Promise.resolve(pageUser);
    }
    if (!asked) {
      var fromServer = navigator.onLine ? Q.session(config) : Promise.reject(new Error("offline"));
      asked = fromServer.then(function (session) {
        return adoptUser(session.user || "");
      }).catch(function () {
        return Q.meta("user").then(function (u) { return u || ""; });
      });
    }
    return asked;
  }

  function announce(name, detail) {
    document.dispatchEvent(new CustomEvent(name, { detail: detail }));
  }

  /* --- the badge in the header and the offline flag ---------------------------------- */

  function refreshBadge() {
    var badge = document.getElementById("queue-badge");
    return Promise.all([Q.all(), currentUser()]).then(function (parts) {
      var mine = parts[0].filter(function (item) { return item.user === parts[1]; });
      if (badge) {
        badge.hidden = mine.length === 0;
        badge.querySelector(".count").textContent = String(mine.length);
        badge.classList.toggle("conflict", mine.some(function (item) { return item.state === "conflict"; }));
      }
      return mine.length;
    }).catch(function () { return 0; });
  }

  function showConnection() {
    var flag = document.getElementById("offline-flag");
    if (flag) {
      flag.hidden = navigator.onLine;
    }
    body.classList.toggle("is-offline", !navigator.onLine);
  }

  /* --- sending the queue ------------------------------------------------------------- */

  var flushing = null;

  function flush() {
    if (!navigator.onLine) {
      return Promise.resolve(null);
    }
    if (!flushing) {
      announce("gridqueue:sending");
      flushing = Q.flush(config).then(function (summary) {
        flushing = null;
        if (summary.sent > 0) {
          // what was sent changed the grid's data: keep it again, now or on the next page
          Q.setMeta("warmedAt", 0).then(function () { return warm(true); }).catch(function () {});
        }
        return refreshBadge().then(function () {
          announce("gridqueue:changed", summary);
          return summary;
        });
      }, function (error) {
        flushing = null;
        throw error;
      });
    }
    return flushing;
  }

  function flushIfWaiting() {
    return Q.all().then(function (items) {
      return items.some(function (item) { return item.state !== "conflict"; }) ? flush() : null;
    }).catch(function () { return null; });
  }

  /* --- the service worker and what it keeps ------------------------------------------ */

  function tellWorker(message) {
    if (!worker) {
      return Promise.resolve(false);
    }
    return worker.ready.then(function (registration) {
      if (!registration.active) {
        return false;
      }
      registration.active.postMessage(message);
      return true;
    });
  }

  function dropUserCaches() {
    if (!window.caches) {
      return Promise.resolve();
    }
    return caches.keys().then(function (names) {
      return Promise.all(names.filter(function (name) { return /^gridpwa-(pages|data)-/.test(name); }).map(function (name) {
        return caches.delete(name);
      }));
    });
  }

  var warming = [];

  /* "ready": the worker controls the page and this user's grid data is kept. */
  function markReady(kept) {
    body.dataset.pwa = kept ? "ready" : "no-data";
    announce("gridpwa:ready", { kept: kept });
  }

  function askWorkerToWarm() {
    return new Promise(function (resolve) {
      warming.push(resolve);
      tellWorker({ type: "warm" }).then(function (sent) {
        if (!sent) {
          resolve(false);
        }
      });
    });
  }

  /* Keep the signed-in user's grid data on the phone: after a sign-in, after the queue
   * sent something, and every quarter of an hour of use. Resolves whether it is kept. */
  function warm(force) {
    if (!worker) {
      return Promise.resolve(false);
    }
    return currentUser().then(function (user) {
      return user ? Q.meta("warmedAt").then(function (at) { return at || 0; }) : null;
    }).then(function (at) {
      if (at === null) {
        return false; // nobody signed in: nothing of anyone's to keep
      }
      var recent = !force && Date.now() - at < WARM_EVERY_MS;
      var kept = recent && window.caches ? caches.match(config.bundle, { ignoreVary: true }) : Promise.resolve(null);
      return kept.then(function (bundle) {
        if (bundle) {
          return true; // kept, and fresh enough
        }
        return navigator.onLine ? askWorkerToWarm() : false;
      });
    });
  }

  function controlled() {
    if (navigator.serviceWorker.controller) {
      return Promise.resolve();
    }
    return new Promise(function (resolve) {
      navigator.serviceWorker.addEventListener("controllerchange", function () { resolve(); }, { once: true });
    });
  }

  /* Keep up with the signed-in user, and the kept shell pages with the language. */
  function followUser() {
    var lang = document.documentElement.lang;
    var language = pageUser === null ? Promise.resolve() : Q.meta("lang").then(function (known) {
      if (known === lang) {
        return null;
      }
      // the worker fetched the shell pages in the language of its install
      return Q.setMeta("lang", lang).then(function () {
        return known ? tellWorker({ type: "refresh-shell" }) : null;
      });
    });
    return Promise.all([currentUser().then(adoptUser), language]);
  }

  function startWorker(following) {
    if (!worker || !body.dataset.sw) {
      return;
    }
    worker.addEventListener("message", function (event) {
      var data = event.data || {};
      if (data.type === "warmed") {
        warming.splice(0).forEach(function (resolve) { resolve(data.ok); });
      } else if (data.type === "queue-changed") {
        refreshBadge().then(function () { announce("gridqueue:changed", data.summary || null); });
      }
    });
    worker.register(body.dataset.sw, { scope: "/" }).then(function () {
      return following;
    }).then(function () {
      return Promise.all([worker.ready, controlled()]);
    }).then(function () {
      return warm(false);
    }).then(function (kept) {
      markReady(kept);
    }).catch(function () {
      body.dataset.pwa = "unavailable";
    });
  }

  /* --- forms ------------------------------------------------------------------------- */

  function setBusy(form, busy) {
    form.querySelectorAll('button[type="submit"], button:not([type])').forEach(function (button) {
      button.disabled = busy;
    });
    form.classList.toggle("busy", busy);
  }

  function say(form, text) {
    var note = form.querySelector(".offline-refusal");
    if (!note) {
      note = document.createElement("p");
      note.className = "notice conflict offline-refusal";
      note.setAttribute("role", "alert");
      form.appendChild(note);
    }
    note.textContent = text;
  }

  function stampTime(form) {
    var field = form.querySelector('input[name="visited_at"]');
    if (field && !field.value) {
      field.value = new Date().toISOString();
    }
  }

  function queueHere(form) {
    return currentUser().then(function (user) {
      if (!user) {
        throw new Error("anonymous");
      }
      var item = Q.fromFormData(form.action, new FormData(form), user, location.pathname);
      return Q.add(item);
    }).then(function (item) {
      if (worker) {
        worker.ready.then(function (registration) {
          return registration.sync && registration.sync.register("gridpwa-queue");
        }).catch(function () {});
      }
      location.assign(config.queue + "?added=" + item.id);
    });
  }

  function onSubmit(event) {
    var form = event.target;
    if (!(form instanceof HTMLFormElement) || (form.getAttribute("method") || "get").toLowerCase() !== "post") {
      return;
    }
    if (form.dataset.submitting === "native") {
      delete form.dataset.submitting;
      return; // our own second pass: let the browser post it
    }
    var queueable = form.dataset.offline === "queue";
    if (!queueable) {
      if (!navigator.onLine) {
        event.preventDefault();
        say(form, texts.needsConnection);
      } else if (form.dataset.forget) {
        dropUserCaches(); // signing out: nothing of this user stays readable
      }
      return;
    }
    event.preventDefault();
    var submitter = event.submitter || null;
    setBusy(form, true);
    var photos = window.GridPhotos ? window.GridPhotos.prepare(form) : Promise.resolve();
    photos.catch(function () {}).then(function () {
      stampTime(form);
      if (!navigator.onLine || form.dataset.offlineOnly === "1") {
        return queueHere(form);
      }
      // a new task: the browser ignores a submission asked for while it is still
      // dispatching this submit event (the photos may have been ready at once)
      setTimeout(function () {
        form.dataset.submitting = "native";
        setBusy(form, false);
        if (form.requestSubmit) {
          form.requestSubmit(submitter && submitter.form === form ? submitter : undefined);
        } else {
          form.submit();
        }
        delete form.dataset.submitting;
        setBusy(form, true);
      }, 0);
      return null;
    }).catch(function () {
      setBusy(form, false);
      say(form, navigator.onLine ? texts.needsConnection : texts.cannotQueue);
    });
  }

  /* --- start ------------------------------------------------------------------------- */

  freshKeys();
  document.addEventListener("submit", onSubmit);
  window.addEventListener("pageshow", function (event) {
    if (event.persisted) {
      freshKeys(); // back to a page already posted: a new entry needs a new key
      document.querySelectorAll("form.busy").forEach(function (form) { setBusy(form, false); });
    }
  });
  window.addEventListener("online", function () { showConnection(); flushIfWaiting(); });
  window.addEventListener("offline", showConnection);
  showConnection();
  var following = followUser().catch(function () {});
  startWorker(following);
  following.then(function () {
    return refreshBadge();
  }).then(function () {
    return flushIfWaiting();
  });

  window.GridField = { flush: flush, refreshBadge: refreshBadge, warm: warm, currentUser: currentUser, config: config };
})();
