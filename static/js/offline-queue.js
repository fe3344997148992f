/* The offline queue (等待发送): field forms kept on the phone while there is no connection,
 * sent when it returns. Loaded by the pages and imported by the service worker, so both
 * read and write the same IndexedDB store (governance/pwa/README.md).
 *
 * An item is one form post: its URL, its fields, its files (photos as Blobs, already
 * resized), its idempotency key and whose it is. The key makes sending safe to repeat:
 * the server answers a replay of the same key as it answered the first time, so a sync
 * that is retried, interrupted or run twice never makes a second visit or report.
 *
 * States: "waiting" (not sent yet), "signin" (the session is gone: sent once its owner
 * signs in again), "conflict" (the server refused it, e.g. the door was knocked on by
 * someone else; the server's message is kept and the worker decides). */
(function (scope) {
  "use strict";

  var DB_NAME = "gridpwa";
  var DB_VERSION = 1;
  var ITEMS = "queue";
  var META = "meta";
  var LOCK = "gridpwa-queue";

  var KINDS = [
    [/^\/tickets\/report\/$/, function () { return { kind: "report" }; }],
    [/^\/tickets\/(\d+)\/do\/([a-z-]+)\/$/, function (m) { return { kind: "action", ticket: +m[1], action: m[2] }; }],
    [/^\/tickets\/(\d+)\/rate\/$/, function (m) { return { kind: "rate", ticket: +m[1] }; }],
    [/^\/tickets\/whistles\/(\d+)\/([a-z-]+)\/$/, function (m) { return { kind: "whistle", whistle: +m[1], action: m[2] }; }],
    [/^\/residents\/households\/(\d+)\/visits\/$/, function (m) { return { kind: "visit", household: +m[1] }; }],
    [/^\/residents\/campaign-tasks\/(\d+)\/$/, function (m) { return { kind: "campaign", task: +m[1] }; }],
  ];

  var opening = null;

  function request(req) {
    return new Promise(function (resolve, reject) {
      req.addEventListener("success", function () { resolve(req.result); });
      req.addEventListener("error", function () { reject(req.error); });
    });
  }

  function open() {
    if (!opening) {
      opening = new Promise(function (resolve, reject) {
        var req = scope.indexedDB.open(DB_NAME, DB_VERSION);
        req.addEventListener("upgradeneeded", function () {
          var db = req.result;
          if (!db.objectStoreNames.contains(ITEMS)) {
            db.createObjectStore(ITEMS, { keyPath: "id", autoIncrement: true });
          }
          if (!db.objectStoreNames.contains(META)) {
            db.createObjectStore(META);
          }
        });
        req.addEventListener("success", function () {
          var db = req.result;
          db.addEventListener("versionchange", function () { db.close(); opening = null; });
          resolve(db);
        });
        req.addEventListener("error", function () { opening = null; reject(req.error); });
      });
    }
    return opening;
  }

  /* One request in its own transaction; resolves once the transaction committed. */
  function transact(storeName, mode, work) {
    return open().then(function (db) {
      return new Promise(function (resolve, reject) {
        var tx = db.transaction(storeName, mode);
        var result;
        request(work(tx.objectStore(storeName))).then(function (value) { result = value; }, reject);
        tx.addEventListener("complete", function () { resolve(result); });
        tx.addEventListener("error", function () { reject(tx.error); });
        tx.addEventListener("abort", function () { reject(tx.error); });
      });
    });
  }

  function all() {
    return transact(ITEMS, "readonly", function (store) { return store.getAll(); });
  }

  function get(id) {
    return transact(ITEMS, "readonly", function (store) { return store.get(id); });
  }

  function put(item) {
    return transact(ITEMS, "readwrite", function (store) { return store.put(item); });
  }

  function add(item) {
    var copy = Object.assign({}, item);
    delete copy.id;
    return transact(ITEMS, "readwrite", function (store) { return store.add(copy); }).then(function (id) {
      copy.id = id;
      return copy;
    });
  }

  function remove(id) {
    return transact(ITEMS, "readwrite", function (store) { return store.delete(id); });
  }

  function meta(name) {
    return transact(META, "readonly", function (store) { return store.get(name); });
  }

  function setMeta(name, value) {
    return transact(META, "readwrite", function (store) { return store.put(value, name); });
  }

  function newKey() {
    var cryptoApi = scope.crypto;
    if (cryptoApi && cryptoApi.randomUUID) {
      return cryptoApi.randomUUID();
    }
    var bytes = cryptoApi.getRandomValues(new Uint8Array(16));
    bytes[6] = (bytes[6] & 0x0f) | 0x40;
    bytes[8] = (bytes[8] & 0x3f) | 0x80;
    var hex = Array.prototype.map.call(bytes, function (b) { return (b + 256).toString(16).slice(1); }).join("");
    return [hex.slice(0, 8), hex.slice(8, 12), hex.slice(12, 16), hex.slice(16, 20), hex.slice(20)].join("-");
  }

  function kindOf(path) {
    for (var i = 0; i < KINDS.length; i += 1) {
      var match = KINDS[i][0].exec(path);
      if (match) {
        return KINDS[i][1](match);
      }
    }
    return { kind: "other" };
  }

  /* A queue item from a form's data: strings as fields, non-empty files as Blobs. */
  function fromFormData(action, data, user, page) {
    var url = new URL(action, scope.location.href);
    var fields = [];
    var files = [];
    data.forEach(function (value, name) {
      if (typeof value === "string") {
        fields.push([name, value]);
      } else if (value && value.size > 0) {
        files.push([name, value]);
      }
    });
    var keyField = fields.filter(function (f) { return f[0] === "idempotency_key" && f[1]; })[0];
    var key = keyField ? keyField[1] : newKey();
    if (!keyField) {
      fields = fields.filter(function (f) { return f[0] !== "idempotency_key"; });
      fields.push(["idempotency_key", key]);
    }
    return Object.assign(kindOf(url.pathname), {
      url: url.pathname + url.search,
      method: "POST",
      key: key,
      fields: fields,
      files: files,
      user: String(user),
      page: page || "",
      createdAt: Date.now(),
      state: "waiting",
      status: 0,
      message: "",
      attempts: 0,
    });
  }

  function plain(html) {
    var entities = { amp: "&", lt: "<", gt: ">", quot: "\"", "#x27": "'", "#39": "'" };
    return html
      .replace(/<li[^>]*>/g, " ")
      .replace(/<[^>]+>/g, "")
      .replace(/&(amp|lt|gt|quot|#x27|#39);/g, function (all, name) { return entities[name]; })
      .replace(/\s+/g, " ")
      .trim();
  }

  /* The server's reason, from a JSON answer or a page re-rendered with its messages (no
   * DOMParser in a service worker: the page marks them with role="alert" and errorlist). */
  function messageFrom(text, contentType) {
    if (/json/.test(contentType || "")) {
      try {
        var data = JSON.parse(text);
        if (data && data.detail) {
          return String(data.detail);
        }
        return Object.keys(data || {}).map(function (k) { return [].concat(data[k]).join(" "); }).join(" ");
      } catch (error) {
        return "";
      }
    }
    var found = [];
    var patterns = [
      /<(?:p|div)[^>]*role="alert"[^>]*>([\s\S]*?)<\/(?:p|div)>/g,
      /<ul class="errorlist[^"]*"[^>]*>([\s\S]*?)<\/ul>/g,
    ];
    patterns.forEach(function (pattern) {
      var match;
      while ((match = pattern.exec(text))) {
        var said = plain(match[1]);
        if (said && found.indexOf(said) < 0 && !found.some(function (f) { return f.indexOf(said) >= 0; })) {
          found.push(said);
        }
      }
    });
    return found.join(" ").slice(0, 500);
  }

  function session(config) {
    return fetch(config.session, {
      credentials: "same-origin",
      cache: "no-store",
      headers: { Accept: "application/json" },
    }).then(function (response) {
      if (!response.ok) {
        throw new Error("session " + response.status);
      }
      return response.json();
    });
  }

  /* Send one item as its form would have been, with a fresh CSRF token and its key. */
  function send(item, current, config) {
    var body = new FormData();
    item.fields.forEach(function (field) {
      if (field[0] !== "csrfmiddlewaretoken") {
        body.append(field[0], field[1]);
      }
    });
    item.files.forEach(function (file) { body.append(file[0], file[1], file[1].name || "photo.jpg"); });
    body.append("csrfmiddlewaretoken", current.csrf);
    return fetch(item.url, {
      method: item.method || "POST",
      body: body,
      credentials: "same-origin",
      redirect: "follow",
      headers: { "Idempotency-Key": item.key, "X-CSRFToken": current.csrf },
    }).then(function (response) {
      if (response.redirected) {
        // every field form answers a success with a redirect; a sign-in page is none
        var landed = new URL(response.url).pathname;
        return landed === config.login ? { outcome: "signin" } : { outcome: "sent" };
      }
      return response.text().then(function (text) {
        var status = response.status;
        var message = messageFrom(text, response.headers.get("Content-Type"));
        if (status === 403 && /csrf/i.test(text)) {
          return { outcome: "csrf", status: status, message: message };
        }
        if (status >= 500 || status === 429 || status === 408) {
          return { outcome: "retry", status: status, message: message };
        }
        // a 4xx, or the form shown again with its errors (200): refused as it is
        return { outcome: "conflict", status: status, message: message };
      });
    }, function () {
      return { outcome: "offline" };
    });
  }

  var chain = Promise.resolve();

  function withLock(work) {
    var locks = scope.navigator && scope.navigator.locks;
    if (locks && locks.request) {
      return locks.request(LOCK, work);
    }
    var next = chain.then(work, work);
    chain = next.catch(function () {});
    return next;
  }

  function update(item, changes) {
    return put(Object.assign({}, item, changes));
  }

  /* Send what waits for the signed-in user, oldest first. Stops at the first network
   * error or server trouble (the connection is not back yet); a refusal is kept as a
   * conflict and the rest go on. Never two flushes at once (Web Locks). */
  function flush(config) {
    return withLock(function () {
      var summary = { sent: 0, conflicts: 0, signin: false, offline: false, retry: false };
      return session(config).then(function (current) {
        return all().then(function (items) {
          var pending = items.filter(function (item) { return item.state !== "conflict"; });
          var index = 0;

          function next() {
            if (index >= pending.length) {
              return summary;
            }
            var item = pending[index];
            index += 1;
            if (!current.user) {
              summary.signin = true;
              return (item.state === "signin" ? Promise.resolve() : update(item, { state: "signin" })).then(next);
            }
            if (item.user !== current.user) {
              return next(); // another account's: it waits for that account
            }
            return send(item, current, config).then(function (result) {
              if (result.outcome !== "csrf") {
                return result;
              }
              return session(config).then(function (fresh) {
                current = fresh;
                return send(item, current, config);
              }).then(function (again) {
                return again.outcome === "csrf" ? { outcome: "conflict", status: 403, message: again.message } : again;
              });
            }).then(function (result) {
              var tried = { attempts: (item.attempts || 0) + 1, triedAt: Date.now() };
              if (result.outcome === "sent") {
                summary.sent += 1;
                return remove(item.id).then(next);
              }
              if (result.outcome === "conflict") {
                summary.conflicts += 1;
                return update(item, Object.assign(tried, { state: "conflict", status: result.status, message: result.message })).then(next);
              }
              if (result.outcome === "signin") {
                summary.signin = true;
                return update(item, Object.assign(tried, { state: "signin" })).then(function () { return summary; });
              }
              summary.offline = result.outcome === "offline";
              summary.retry = result.outcome === "retry";
              return update(item, Object.assign(tried, { state: "waiting", status: result.status || 0, message: result.message || "" })).then(function () { return summary; });
            });
          }

          return next();
        });
      }, function () {
        summary.offline = true;
        return summary;
      });
    });
  }

  scope.GridQueue = {
    all: all,
    get: get,
    add: add,
    put: put,
    remove: remove,
    meta: meta,
    setMeta: setMeta,
    newKey: newKey,
    kindOf: kindOf,
    fromFormData: fromFormData,
    messageFrom: messageFrom,
    session: session,
    send: send,
    flush: flush,
  };
})(self);
