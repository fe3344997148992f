/* The two pages the service worker keeps for everyone (governance/pwa/README.md):
 *
 * - the offline page, served for a field page the phone has not kept: it draws that
 *   page (households, visits due, a household with its visit form, campaign tasks and
 *   their forms, tickets) from the offline bundle, the user's grid data kept after sign-in;
 * - the waiting list (等待发送), drawn from the offline queue: what waits, what the server
 *   refused and why, with "try again" and "discard".
 *
 * Texts come translated in the pages' data-* attributes; data is only ever set as text. */
(function () {
  "use strict";

  var Q = window.GridQueue;
  var body = document.body;

  function el(tag, attrs, children) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (name) {
      var value = attrs[name];
      if (value === null || value === undefined || value === false) {
        return;
      }
      if (name === "text") {
        node.textContent = String(value);
      } else if (name === "className") {
        node.className = value;
      } else {
        node.setAttribute(name, value === true ? "" : String(value));
      }
    });
    (children || []).forEach(function (child) {
      if (child !== null && child !== undefined && child !== false) {
        node.appendChild(typeof child === "string" ? document.createTextNode(child) : child);
      }
    });
    return node;
  }

  function fill(text, values) {
    return String(text).replace(/\{(\w+)\}/g, function (whole, name) {
      return name in values ? String(values[name]) : whole;
    });
  }

  function currentUser() {
    return window.GridField ? window.GridField.currentUser() : Q.meta("user").then(function (u) { return u || ""; });
  }

  /* The bundle kept for the phone's current user, or null. */
  function loadBundle() {
    if (!window.caches) {
      return Promise.resolve(null);
    }
    return Promise.all([caches.match(body.dataset.bundle, { ignoreVary: true }), currentUser()]).then(function (parts) {
      if (!parts[0]) {
        return null;
      }
      return parts[0].json().then(function (bundle) {
        return bundle && bundle.user && bundle.user.id === parts[1] ? bundle : null;
      });
    }).catch(function () {
      return null;
    });
  }

  function moment(ms) {
    var d = new Date(ms);
    var two = function (n) { return (n < 10 ? "0" : "") + n; };
    return d.getFullYear() + "-" + two(d.getMonth() + 1) + "-" + two(d.getDate()) + " " + two(d.getHours()) + ":" + two(d.getMinutes());
  }

  /* ================================ the offline page ================================ */

  function dutyBadge(duty, t) {
    if (duty === "overdue") {
      return el("span", { className: "badge overdue", text: t.overdue });
    }
    if (duty === "due") {
      return el("span", { className: "badge due", text: t.dueBadge });
    }
    return null;
  }

  function cutNote(cut, t) {
    return cut ? el("p", { className: "hint", text: t.cut }) : null;
  }

  function facts(pairs) {
    var list = el("dl", { className: "facts" });
    pairs.forEach(function (pair) {
      list.appendChild(el("dt", { text: pair[0] }));
      list.appendChild(el("dd", { text: pair[1] || "—" }));
    });
    return list;
  }

  function hidden(name, value) {
    return el("input", { type: "hidden", name: name, value: value });
  }

  /* A form that waits on the phone: posted to ``action`` by the queue, with its own key. */
  function queuedForm(action, children, t) {
    return el("form", {
      method: "post",
      action: action,
      enctype: "multipart/form-data",
      "data-offline": "queue",
      "data-offline-only": "1",
    }, [hidden("idempotency_key", Q.newKey())].concat(children, [el("p", { className: "hint", text: t.formNote })]));
  }

  function photoInput(t) {
    return el("label", {}, [t.photo, el("input", { type: "file", name: "photo", accept: "image/*", capture: "environment" })]);
  }

  function householdRow(h, t, sub) {
    return el("li", {}, [el("a", { href: h.url }, [
      el("span", { className: "addr", text: h.address }),
      dutyBadge(h.duty, t),
      el("span", { className: "sub", text: sub }),
    ])]);
  }

  function householdList(b, t) {
    var query = (new URLSearchParams(location.search).get("q") || "").trim();
    var rows = b.households;
    if (query) {
      var terms = query.split(/\s+/);
      rows = rows.filter(function (h) {
        var text = [h.address, h.head, h.grid].concat(h.residents.map(function (r) { return r.name; })).join(" ");
        return terms.every(function (term) { return text.indexOf(term) >= 0; });
      });
    }
    var search = el("form", { className: "search", method: "get", role: "search", action: b.pages.households }, [
      el("input", { type: "search", name: "q", value: query, "aria-label": t.search }),
      el("button", { type: "submit", text: t.search }),
    ]);
    return [
      el("h1", {}, [t.households + " ", el("small", { text: rows.length })]),
      search,
      rows.length
        ? el("ul", { className: "rows" }, rows.map(function (h) {
          return householdRow(h, t, [h.head || "—", t.people + " " + h.people, h.grid].join(" · "));
        }))
        : el("p", { className: "empty", text: query ? fill(t.noMatch, { query: query }) : t.emptyHouseholds }),
      cutNote(b.truncated.households, t),
    ];
  }

  function dueList(b, t) {
    var rows = b.households.filter(function (h) { return h.duty === "due" || h.duty === "overdue"; });
    return [
      el("h1", {}, [t.due + " ", el("small", { text: rows.length })]),
      rows.length
        ? el("ul", { className: "rows" }, rows.map(function (h) {
          var sub = [h.head || "—", fill(t.dueOn, { day: h.due_on })];
          if (h.last_visited) {
            sub.push(fill(t.lastVisited, { day: h.last_visited }));
          }
          return householdRow(h, t, sub.join(" · "));
        }))
        : el("p", { className: "empty", text: t.emptyDue }),
    ];
  }

  function visitForm(h, b, t) {
    var preferred = h.duty === "due" || h.duty === "overdue" ? "must_visit" : "routine";
    var kinds = el("fieldset", { className: "kinds" }, [el("legend", { text: t.kind })].concat(b.visit_kinds.map(function (kind) {
      return el("label", { className: "kind" }, [
        el("input", { type: "radio", name: "kind", value: kind.value, required: true, checked: kind.value === preferred }),
        el("span", { text: kind.label }),
      ]);
    })));
    return el("section", { className: "card" }, [
      el("h2", { text: t.logVisit }),
      queuedForm(h.visit_url, [
        hidden("visited_at", ""),
        kinds,
        el("details", {}, [
          el("summary", { text: t.findingsOptional }),
          el("label", {}, [t.findings, el("textarea", { name: "findings", rows: 3, maxlength: 2000 })]),
          photoInput(t),
        ]),
        el("button", { className: "primary", type: "submit", text: t.saveVisit }),
      ], t),
    ]);
  }

  function householdPage(h, b, t) {
    var people = h.residents.map(function (r) {
      return el("li", { className: "card" }, [
        el("p", {}, [el("strong", { text: r.name })]),
        el("p", { className: "sub", text: [r.gender, r.age, r.relation].join(" · ") }),
        r.tags.length ? el("p", {}, r.tags.map(function (tag) { return el("span", { className: "tag", text: tag }); })) : null,
        r.phone ? facts([[t.phone, r.phone]]) : null,
      ]);
    });
    return [
      el("h1", {}, [h.address + " ", dutyBadge(h.duty, t)]),
      facts([
        [t.grid, h.grid],
        [t.head, h.head],
        [t.phone, h.phone],
        [t.visitDueOn, h.due_on],
        [t.lastVisitedLabel, h.last_visited],
      ]),
      h.may_visit ? visitForm(h, b, t) : null,
      el("h2", { text: t.people }),
      people.length ? el("ul", { className: "cards" }, people) : null,
    ];
  }

  function campaignList(b, t) {
    if (!b.campaigns.length) {
      return [el("h1", { text: t.campaigns }), el("p", { className: "empty", text: t.emptyCampaigns })];
    }
    var parts = [el("h1", { text: t.campaigns })];
    b.campaigns.forEach(function (c) {
      var tasks = b.campaign_tasks.filter(function (task) { return task.campaign === c.id; });
      parts.push(el("h2", { text: c.title }));
      parts.push(el("p", { className: "sub", text: fill(t.until, { deadline: c.deadline }) + " · " + fill(t.progress, { done: c.done, total: c.total }) }));
      parts.push(tasks.length
        ? el("ul", { className: "rows" }, tasks.map(function (task) {
          return el("li", {}, [el("a", { href: task.url }, [
            el("span", { className: "addr", text: task.address }),
            el("span", { className: "sub", text: (task.head || "—") + " · " + task.grid }),
          ])]);
        }))
        : el("p", { className: "empty", text: t.emptyTasks }));
    });
    parts.push(cutNote(b.truncated.campaign_tasks, t));
    return parts;
  }

  function taskPage(task, b, t) {
    var campaign = b.campaigns.filter(function (c) { return c.id === task.campaign; })[0] || { title: "", questions: [], deadline: "" };
    var answers = campaign.questions.map(function (question, i) {
      return el("label", {}, [question, el("input", { type: "text", name: "answer_" + i, maxlength: 200 })]);
    });
    return [
      el("p", { className: "breadcrumbs" }, [el("a", { href: b.pages.campaigns, text: t.campaigns }), " › " + campaign.title]),
      el("h1", { text: task.address }),
      facts([[t.grid, task.grid], [t.head, task.head], [t.deadline, campaign.deadline]]),
      el("section", { className: "card" }, [queuedForm(task.url, answers.concat([
        el("label", {}, [t.findings, el("textarea", { name: "findings", rows: 3, maxlength: 2000 })]),
        photoInput(t),
        el("button", { className: "primary", type: "submit", text: t.record }),
      ]), t)]),
    ];
  }

  function ticketRow(ticket, t) {
    var where = [ticket.number, ticket.category, ticket.grid];
    if (ticket.address) {
      where.push(ticket.address);
    }
    return el("li", {}, [
      el("a", { href: ticket.url }, [
        el("span", { className: "addr", text: ticket.title }),
        el("span", { className: "status status-" + ticket.status, text: ticket.status_label }),
        ticket.overdue ? el("span", { className: "badge overdue", text: t.overdue }) : null,
        el("span", { className: "sub", text: where.join(" · ") }),
        el("span", { className: "sub", text: fill(t.resolveBy, { day: ticket.resolve_by }) }),
      ]),
      ticket.claimable ? queuedForm(ticket.claim_url, [el("button", { type: "submit", text: t.claim })], t) : null,
    ]);
  }

  function ticketRows(tickets, t, empty) {
    return tickets.length
      ? el("ul", { className: "rows tickets" }, tickets.map(function (ticket) { return ticketRow(ticket, t); }))
      : el("p", { className: "empty", text: empty });
  }

  function ticketList(b, t, which) {
    if (which === "board") {
      var claimable = b.tickets.filter(function (ticket) { return ticket.claimable; });
      return [el("h1", {}, [t.board + " ", el("small", { text: claimable.length })]), ticketRows(claimable, t, t.emptyBoard)];
    }
    var assigned = b.tickets.filter(function (ticket) { return ticket.assigned; });
    var reported = b.tickets.filter(function (ticket) { return ticket.reported; });
    return [
      el("h1", { text: t.mine }),
      el("h2", { text: t.assigned }),
      ticketRows(assigned, t, t.emptyAssigned),
      el("h2", { text: t.reported }),
      ticketRows(reported, t, t.emptyReported),
      cutNote(b.truncated.tickets, t),
    ];
  }

  function ticketPage(ticket, t) {
    return [
      el("h1", { text: ticket.title }),
      el("p", { className: "sub" }, [ticket.number + " ", el("span", { className: "status status-" + ticket.status, text: ticket.status_label })]),
      facts([[t.category, ticket.category], [t.grid, ticket.grid], [t.address, ticket.address]]),
      el("p", { className: "sub", text: fill(t.resolveBy, { day: ticket.resolve_by }) }),
      ticket.claimable
        ? queuedForm(ticket.claim_url, [el("button", { className: "primary", type: "submit", text: t.claim })], t)
        : el("p", { className: "notice", text: t.ticketNote }),
    ];
  }

  function notSaved(b, t) {
    var links = [];
    if (b) {
      [["households", t.households], ["due", t.due], ["campaigns", t.campaigns], ["mine", t.mine]].forEach(function (pair) {
        links.push(el("li", {}, [el("a", { href: b.pages[pair[0]], text: pair[1] })]));
      });
    }
    return [el("p", { className: "notice", text: b ? t.notSaved : t.noData }), links.length ? el("ul", { className: "rows" }, links) : null];
  }

  function route(path, b, t) {
    var p = b.pages;
    var find = function (rows) { return rows.filter(function (row) { return row.url === path; })[0]; };
    var household = find(b.households);
    var task = find(b.campaign_tasks);
    var ticket = find(b.tickets);
    if (path === p.households) { return householdList(b, t); }
    if (path === p.due) { return dueList(b, t); }
    if (path === p.campaigns) { return campaignList(b, t); }
    if (path === p.mine) { return ticketList(b, t, "mine"); }
    if (path === p.board) { return ticketList(b, t, "board"); }
    if (path === p.start) { return b.households.length ? householdList(b, t) : ticketList(b, t, "mine"); }
    if (household) { return householdPage(household, b, t); }
    if (task) { return taskPage(task, b, t); }
    if (ticket) { return ticketPage(ticket, t); }
    return notSaved(b, t);
  }

  function markNav(path) {
    document.querySelectorAll(".fieldnav a").forEach(function (link) {
      var here = link.pathname === path || (link.pathname.length > 1 && path.indexOf(link.pathname) === 0 && link.pathname !== "/tickets/");
      if (here) {
        link.setAttribute("aria-current", "page");
      } else {
        link.removeAttribute("aria-current");
      }
    });
  }

  function drawOffline(view) {
    var t = view.dataset;
    var out = document.getElementById("offline-body");
    var note = document.getElementById("offline-note");
    markNav(location.pathname);
    return loadBundle().then(function (bundle) {
      var parts = bundle ? route(location.pathname, bundle, t) : notSaved(null, t);
      note.textContent = bundle ? fill(t.savedAt, { time: bundle.generated_label }) : t.noData;
      out.replaceChildren.apply(out, parts.filter(Boolean));
      view.dataset.drawn = bundle ? "bundle" : "empty";
    });
  }

  /* ================================ the waiting list ================================ */

  function summaryOf(item, kinds) {
    var fields = {};
    item.fields.forEach(function (field) { fields[field[0]] = field[1]; });
    var answers = Object.keys(fields).filter(function (name) { return /^answer_\d+$/.test(name) && fields[name]; }).map(function (name) { return fields[name]; });
    var said = fields.title || fields.findings || fields.note || fields.comment || fields.reply || fields.reason || answers.join(" · ");
    if (item.kind === "visit" && kinds[fields.kind]) {
      said = kinds[fields.kind] + (said ? " · " + said : "");
    }
    if (item.files.length) {
      said += (said ? " · " : "") + "📷 " + item.files.length;
    }
    return said;
  }

  function targetOf(item, b) {
    if (!b) {
      return "";
    }
    var pick = function (rows, id) { return rows.filter(function (row) { return row.id === id; })[0]; };
    if (item.kind === "visit") {
      var h = pick(b.households, item.household);
      return h ? h.address : "";
    }
    if (item.kind === "campaign") {
      var task = pick(b.campaign_tasks, item.task);
      return task ? task.address : "";
    }
    if (item.kind === "action" || item.kind === "rate") {
      var ticket = pick(b.tickets, item.ticket);
      return ticket ? ticket.number + " " + ticket.title : "";
    }
    return "";
  }

  function kindLabel(item, t, actions) {
    if (item.kind === "action" || item.kind === "whistle") {
      return actions[item.action] || item.action;
    }
    return t["kind" + item.kind.charAt(0).toUpperCase() + item.kind.slice(1)] || item.url;
  }

  function itemCard(item, t, actions, b, onChange) {
    var kinds = {};
    (b ? b.visit_kinds : []).forEach(function (kind) { kinds[kind.value] = kind.label; });
    var stateText = { waiting: t.waiting, conflict: t.conflict, signin: t.signin }[item.state] || t.waiting;
    var buttons = [];
    if (item.state === "conflict") {
      var retry = el("button", { type: "button", text: t.retry });
      retry.addEventListener("click", function () {
        Q.put(Object.assign({}, item, { state: "waiting", message: "", status: 0 })).then(function () {
          return window.GridField ? window.GridField.flush() : null;
        }).then(onChange);
      });
      buttons.push(retry);
    }
    var discard = el("button", { type: "button", className: "discard", text: t.discard });
    discard.addEventListener("click", function () {
      if (window.confirm(t.confirmDiscard)) {
        Q.remove(item.id).then(function () {
          return window.GridField ? window.GridField.refreshBadge() : null;
        }).then(onChange);
      }
    });
    buttons.push(discard);
    if (item.page) {
      buttons.push(el("a", { href: item.page, text: t.open }));
    }
    if (item.state === "signin") {
      buttons.push(el("a", { href: body.dataset.login + "?next=" + encodeURIComponent(location.pathname), text: t.signIn }));
    }
    var where = targetOf(item, b);
    var message = item.message || (item.status ? "HTTP " + item.status : "");
    return el("li", { className: "card queue-item state-" + item.state, "data-id": item.id, "data-state": item.state }, [
      el("p", {}, [el("strong", { text: kindLabel(item, t, actions) }), " ", el("span", { className: "badge state", text: stateText })]),
      summaryOf(item, kinds) ? el("p", { className: "summary", text: summaryOf(item, kinds) }) : null,
      el("p", { className: "sub", text: (where ? where + " · " : "") + fill(t.savedAt, { time: moment(item.createdAt) }) }),
      item.state === "conflict" && message ? el("p", { className: "notice conflict", role: "alert", text: message }) : null,
      el("p", { className: "actions" }, buttons),
    ]);
  }

  function drawQueue(list) {
    var t = list.dataset;
    var actions = JSON.parse((document.getElementById("pwa-action-names") || {}).textContent || "{}");
    var status = document.getElementById("queue-status");
    var empty = document.getElementById("queue-empty");
    var others = document.getElementById("queue-others");
    var sendNow = document.getElementById("queue-send");
    var added = Number(new URLSearchParams(location.search).get("added")) || 0;
    var sentOnce = false;

    function say(text) {
      status.hidden = !text;
      status.textContent = text || "";
    }

    function draw() {
      return Promise.all([Q.all(), currentUser(), loadBundle()]).then(function (parts) {
        var user = parts[1];
        var mine = parts[0].filter(function (item) { return user && item.user === user; });
        mine.sort(function (a, b) { return a.createdAt - b.createdAt || a.id - b.id; });
        var foreign = parts[0].length - mine.length;
        list.replaceChildren.apply(list, mine.map(function (item) { return itemCard(item, t, actions, parts[2], draw); }));
        empty.hidden = mine.length > 0;
        others.hidden = foreign === 0;
        others.textContent = foreign ? fill(t.others, { n: foreign }) : "";
        sendNow.hidden = !navigator.onLine || !mine.some(function (item) { return item.state !== "conflict"; });
        if (added && mine.some(function (item) { return item.id === added; })) {
          say(t.added);
        } else if (sentOnce && !mine.length) {
          say(t.sentAll);
        } else {
          say("");
        }
        list.dataset.count = String(mine.length);
      });
    }

    sendNow.addEventListener("click", function () {
      if (window.GridField) {
        window.GridField.flush();
      }
    });
    document.addEventListener("gridqueue:sending", function () { say(t.sending); });
    document.addEventListener("gridqueue:changed", function (event) {
      if (event.detail && event.detail.sent) {
        sentOnce = true;
        added = 0;
      }
      draw();
    });
    window.addEventListener("online", draw);
    window.addEventListener("offline", draw);
    return draw();
  }

  var view = document.getElementById("offline-view");
  if (view) {
    drawOffline(view);
  }
  var list = document.getElementById("queue-list");
  if (list) {
    drawQueue(list);
  }
})();
