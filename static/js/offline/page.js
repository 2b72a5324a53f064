/* offline/page.js: owns what the screen shows of the outbox: the badge, a kept change shown on its
   item as if saved (marked as waiting, also after a reload), a refused one shown beside what the
   server holds, and items fetched again after a sync. It finds what it needs by the page's data-
   attributes (data-outbox-routes, data-outbox-badge, data-item, data-change,
   data-photo-strip, data-refusal, data-finding, template[data-finding-form]), not by knowing the
   templates' ids; the item is the .item around an answer form, its clause (.clause) its own URL. */
(function (ns) {
  "use strict";
  var logic = ns.logic, store = ns.store;
  var routes = logic.parseRoutes(document.body.dataset.outboxRoutes);

  // An item's answer form names the item (data-item); the item's element is the one around it that
  // its forms swap (the list's hx-target, closest .item); its clause (.clause) links to where it is
  // fetched again.
  function itemOf(entry) {
    var id = logic.itemIdOf(entry, routes);
    var marker = id ? document.querySelector('[data-item="' + CSS.escape(String(id)) + '"]') : null;
    return marker ? marker.closest(".item") : null;
  }

  function idOf(item) { return item.querySelector("[data-item]").dataset.item; }
  function urlOf(item) { return item.querySelector("a.clause").getAttribute("href"); }

  // A finding grade tapped offline opens the item's finding form, as the server's answer would:
  // the screen holds the form for each kind of grade (template[data-finding-form] names the grades),
  // "{item}" standing for the item's id. An item that shows a finding, or its form, already is left as it is.
  function openFindingForm(item, result) {
    var template = document.querySelector('template[data-finding-form~="' + CSS.escape(String(result)) + '"]');
    if (!template || item.querySelector("[data-finding]")) return;
    var id = idOf(item), form = template.content.firstElementChild.cloneNode(true);
    [form].concat(Array.from(form.querySelectorAll("*"))).forEach(function (el) {
      ["id", "for", "hx-post"].forEach(function (name) {
        var value = el.getAttribute(name);
        // a copy of a repeating section's item ("12-c2") posts to .../items/12/copies/2/finding
        var part = name === "hx-post" ? String(id).replace(/-c(\d+)$/, "/copies/$1") : id;
        if (value) el.setAttribute(name, value.replace("{item}", part));
      });
    });
    // The requirement is left empty: the server names it from the item's clause when the finding arrives.
    item.insertBefore(form, item.querySelector("[data-photo-strip]"));
    if (window.htmx) htmx.process(form);
    form.dispatchEvent(new CustomEvent("auditapp:finding-form", { bubbles: true }));  // its draft comes back (drafts.js)
  }

  // options.sending: a drain is under way (sync.js), so the badge says its stages (logic.stageText:
  // answers first, then the photos uploading and what is left of them); options.uploaded: the bytes
  // of the photo batch on its way that have left the phone.
  function refreshBadge(options) {
    var sending = Boolean(options && options.sending);
    return store.all().then(function (entries) {
      var el = document.querySelector("[data-outbox-badge]");
      if (!el) return entries;
      var badge = logic.badge(entries);
      el.hidden = badge.hidden;
      el.querySelector("[data-count]").textContent = badge.count;
      el.querySelector("[data-problems]").textContent = badge.problems;
      var stage = el.querySelector("[data-stage]");
      if (!stage) {
        stage = document.createElement("span");
        stage.dataset.stage = "";
        el.insertBefore(stage, el.querySelector("[data-problems]").nextSibling);
      }
      stage.textContent = logic.stageText(entries, routes, sending, options && options.uploaded);
      document.body.dataset.outbox = String(entries.length);  // read by the logout guard
      return entries;
    });
  }

  // The item shows a kept change as if saved: its form's revision counter moves on, and the
  // result, the note or the photos appear; "r-<result>" is the item's class for a result, as in
  // the server's markup (it opens the finding form offline too).
  function showLocally(entry) {
    var item = itemOf(entry);
    if (!item) return;
    item.classList.add("queued");
    var kind = logic.kindOf(entry, routes);
    var form = kind && item.querySelector('form[data-change="' + kind + '"]');
    var counter = form && form.querySelector("input[name=base_revision]");
    if (counter) counter.value = String(logic.nextRevision(counter.value, logic.field(entry, counter.name)));
    if (kind === "answer" && form && form.dataset.answer && !showAnswer(form, entry)) {
      // not an answer the server will take (answer types): shown as waiting; the server says why when sent
    } else if (kind === "answer" && form) {
      var buttons = form.querySelectorAll("button[name]");
      var result = buttons.length ? logic.field(entry, buttons[0].name) : null;
      if (form.dataset.answer) result = showAnswer(form, entry);  // answer types (issue 15)
      else buttons.forEach(function (b) { b.setAttribute("aria-pressed", b.value === result ? "true" : "false"); });
      var before = (item.className.match(/\br-(\S+)/) || [])[1] || null;
      item.className = item.className.replace(/\br-\S+/g, "") + " answered r-" + result;
      if (conditional()) { applyConditions(); recount(); }  // show-if (issue 15): items may appear or go
      else countLocally(item, before, result);
      scoreLocally();  // scoring (issue 15), after the conditions: an item not asked is not scored
      openFindingForm(item, result);
    } else if (kind === "note" && form) {
      var area = form.querySelector("textarea[name]") || item.querySelector("textarea[name=note]");  // _item.html
      if (area && document.activeElement !== area) area.value = logic.field(entry, area.name);
    } else if (kind === "finding" && form) {
      // The finding waiting on the device shows its text after a reload too (what was sent; a newer
      // draft typed since comes back over it: drafts.js).
      entry.fields.forEach(function (f) {
        form.querySelectorAll('[name="' + CSS.escape(f[0]) + '"]').forEach(function (el) {
          if (el.type === "radio") el.checked = el.value === f[1];
          else if (el.type !== "file" && typeof f[1] === "string") el.value = f[1];
        });
      });
      form.dispatchEvent(new CustomEvent("auditapp:finding-form", { bubbles: true }));
    }
    if (kind === "photo" || kind === "finding") {  // photos taken in the finding card wait with it
      var strip = item.querySelector("[data-photo-strip]");
      logic.shownPhotos(entry).forEach(function (photo) {
        if (!strip) return;
        var img = document.createElement("img");
        img.src = URL.createObjectURL(photo);
        img.alt = "Photo waiting to sync";
        img.className = "queued-photo";
        strip.insertBefore(img, strip.firstChild);
      });
    }
    var state = item.querySelector("[data-offline-state]") || document.createElement("p");
    state.className = "offline-state";
    state.dataset.offlineState = "";
    state.textContent = "Saved on this device; will sync when online.";
    item.appendChild(state);
  }

  // --- answer types (issue 15) ---
  // An answer of another type than the ISO grades (the form's data-answer): what was sent is shown as chosen
  // (the pressed yes/no or option, the ticked options, the typed value) and its result is derived as the server
  // would (logic.answerResult), for the item's colour, the progress and the finding form.
  function showAnswer(form, entry) {
    var values = entry.fields.filter(function (f) { return f[0] === "value"; }).map(function (f) { return String(f[1]); });
    form.querySelectorAll('button[name="value"]').forEach(function (b) {
      b.setAttribute("aria-pressed", values.indexOf(b.value) >= 0 ? "true" : "false");
    });
    form.querySelectorAll('input[type=checkbox][name="value"]').forEach(function (c) { c.checked = values.indexOf(c.value) >= 0; });
    var typed = form.querySelector('input[name="value"]:not([type=checkbox]), textarea[name="value"]');
    if (typed && document.activeElement !== typed && values.length) typed.value = values[0];
    return logic.answerResult(JSON.parse(form.dataset.answer), values, logic.field(entry, "result"));
  }

  // --- scoring (issue 15) ---
  // While offline the total and section scores follow the answers shown on the page, scored as the server
  // scores them (logic.score over the page's score-model): each item's result is its class r-<result>, a
  // choice's value its pressed option.
  function scoreLocally() {
    var source = document.getElementById("score-model");
    if (!source) return;
    var model = JSON.parse(source.textContent), answers = {};
    document.querySelectorAll("li.item[id^='item-']").forEach(function (li) {
      var result = (li.className.match(/\br-(\S+)/) || [])[1];
      if (!result || li.hidden) return;  // show-if: an item not asked is not scored
      var pressed = li.querySelector('button[name="value"][aria-pressed="true"]');
      answers[li.id.slice("item-".length)] = [result, pressed ? pressed.value : null];
    });
    var scored = logic.score(model, answers);
    var total = document.querySelector("#progress [data-score] strong");
    if (total) total.textContent = logic.scoreText(scored.total.percent);
    Object.keys(scored.sections).forEach(function (sid) {
      var shown = document.getElementById("scr-" + sid);
      if (shown) shown.textContent = logic.scoreText(scored.sections[sid].percent);
    });
  }

  // While offline the progress bar and the section's counter count the changes kept on the device
  // (the server's answer would have carried them): logic.progressDelta of the item's old and new result.
  function countLocally(item, before, after) {
    var delta = logic.progressDelta(before, after);
    if (!delta.answered && !delta.applicable && !delta.na) return;
    var bar = document.getElementById("progress");
    var count = bar && bar.querySelector(".progress-count");
    if (count) {
      var numbers = count.textContent.match(/(\d+)\s*\/\s*(\d+)/) || [0, 0, 0];
      var answered = Number(numbers[1]) + delta.answered, applicable = Number(numbers[2]) + delta.applicable;
      var naSpan = Array.prototype.find.call(bar.children, function (el) { return /N\/A/.test(el.textContent); });
      var na = Number(((naSpan && naSpan.textContent.match(/\d+/)) || [0])[0]) + delta.na;
      var meter = bar.querySelector("progress");
      if (meter) { meter.max = Math.max(applicable, 1); meter.value = answered; }
      count.innerHTML = "<strong>" + answered + "</strong>/" + applicable + " answered";
      if (!naSpan && na) {
        naSpan = document.createElement("span");
        naSpan.className = "muted";
        bar.appendChild(naSpan);
      }
      if (naSpan) naSpan.textContent = na ? "· " + na + " N/A" : "";
    }
    var section = item.closest("section[id^='section-']");
    var counter = section && document.getElementById("sec-" + section.id.slice("section-".length));
    if (counter) {
      var parts = counter.textContent.split("/");
      counter.textContent = (Number(parts[0]) + delta.answered) + "/" + (Number(parts[1]) + delta.applicable);
    }
  }

  // --- show-if (issue 15, "showif") ---
  // Only items and sections with a condition carry data-show-if ({item: <trigger's item id>, answer: [...]}).
  // The screen shows and hides them by logic.hiddenKeys, the server's rule, over the answers on the screen
  // (the item's class r-<result>, the pressed value or ticked options): at once on a tap, online or not.
  // An answer's response brings the server's own list out of band (#not-asked), which then has the last word.
  function conditional() { return document.querySelector("[data-show-if]") !== null; }
  function conditionOf(el) { return el && el.dataset.showIf ? JSON.parse(el.dataset.showIf) : null; }
  function screenItems() {
    return Array.prototype.map.call(document.querySelectorAll("li.item"), function (li) {
      var form = li.querySelector('form[data-change="answer"]');
      var section = li.closest("section[id^='section-']");
      return {
        el: li, section: section, key: form ? form.dataset.item : li.id.replace("item-", ""),
        type: form && form.dataset.answer ? JSON.parse(form.dataset.answer).type : "grades",
        showIf: conditionOf(li), sectionShowIf: conditionOf(section),
      };
    });
  }
  function screenAnswer(li) {
    var result = (li.className.match(/\br-(\S+)/) || [])[1] || null;
    var pressed = li.querySelector('button[name="value"][aria-pressed="true"]');
    var ticked = Array.prototype.map.call(li.querySelectorAll('input[type=checkbox][name="value"]:checked'), function (c) { return c.value; });
    return { result: result, value: pressed ? pressed.value : ticked };
  }
  function showHidden(items, hidden) {
    items.forEach(function (i) { if (i.showIf || i.sectionShowIf) i.el.hidden = Boolean(hidden[i.key]); });
    Array.prototype.forEach.call(document.querySelectorAll("section[data-show-if]"), function (section) {
      section.hidden = !items.some(function (i) { return i.section === section && !hidden[i.key]; });
      var chip = document.querySelector('.section-jump a[href="#' + section.id + '"]');
      if (chip) chip.hidden = section.hidden;
    });
  }
  // override: {key, result, value}, the answer being tapped (before the screen shows it).
  function applyConditions(override) {
    var items = screenItems(), given = {};
    items.forEach(function (i) { given[i.key] = screenAnswer(i.el); });
    if (override) given[override.key] = override;
    var hidden = logic.hiddenKeys(items, given);
    showHidden(items, hidden);
    return items;
  }
  // The progress bar and section counters from the screen's items (offline: no server to count them).
  function recount() {
    var items = screenItems().map(function (i) {
      return { section: i.section ? i.section.id.slice("section-".length) : "", result: screenAnswer(i.el).result, hidden: i.el.hidden };
    });
    var p = logic.progressOf(items);
    var bar = document.getElementById("progress");
    var count = bar && bar.querySelector(".progress-count");
    if (count) {
      var meter = bar.querySelector("progress");
      if (meter) { meter.max = Math.max(p.applicable, 1); meter.value = p.answered; }
      count.innerHTML = "<strong>" + p.answered + "</strong>/" + p.applicable + " answered";
      var naSpan = Array.prototype.find.call(bar.children, function (el) { return /N\/A/.test(el.textContent); });
      if (!naSpan && p.na) { naSpan = document.createElement("span"); naSpan.className = "muted"; bar.appendChild(naSpan); }
      if (naSpan) naSpan.textContent = p.na ? "· " + p.na + " N/A" : "";
    }
    Object.keys(p.sections).forEach(function (id) {
      var counter = document.getElementById("sec-" + id);
      if (counter) counter.textContent = p.sections[id][0] + "/" + p.sections[id][1];
    });
  }
  // A tap on an answer shows and hides at once, before the server's answer (or offline, its keeping).
  document.addEventListener("click", function (event) {
    var button = event.target.closest && event.target.closest('form[data-change="answer"] button[name]');
    if (!button || button.disabled || !conditional()) return;
    var form = button.form, spec = form.dataset.answer ? JSON.parse(form.dataset.answer) : null;
    var result = spec ? logic.answerResult(spec, [button.value], null) : button.value;
    if (result) applyConditions({ key: form.dataset.item, result: result, value: button.value });
  });
  // The page's own list is what it was rendered with; only one that comes with a response is news.
  var rendered = document.getElementById("not-asked");
  if (rendered) rendered.dataset.applied = "true";
  // The server's list, out of band with an answer's response (a new #not-asked, not yet applied).
  document.body.addEventListener("htmx:afterSettle", function () {
    var list = document.getElementById("not-asked");
    if (!list || list.dataset.applied) return;
    list.dataset.applied = "true";
    var hidden = {};
    (list.dataset.notAsked || "").split(/\s+/).forEach(function (id) { if (id) hidden[id] = true; });
    showHidden(screenItems(), hidden);
  });

  // A refused change stays in the outbox, shown on its item beside what the server now holds, until
  // the auditor decides: tap a result to save a choice, or forget the offline change.
  function showProblems(entries) {
    logic.problems(entries || []).forEach(function (entry) {
      var item = itemOf(entry);
      if (!item || item.querySelector(".sync-problem[data-seq='" + entry.seq + "']")) return;
      var box = document.createElement("div");
      box.className = "sync-problem";
      box.dataset.seq = String(entry.seq);
      var reason = new DOMParser().parseFromString(entry.problem.html, "text/html").querySelector("[data-refusal]");
      var p = document.createElement("p");
      p.textContent = logic.refusalText(reason && reason.textContent, entry.problem.status);
      var forget = document.createElement("button");
      forget.type = "button";
      forget.textContent = "Forget my offline change";
      forget.addEventListener("click", function () {
        store.remove(entry.seq).then(function () { box.remove(); refreshBadge(); });
      });
      box.appendChild(p);
      box.appendChild(forget);
      item.insertBefore(box, item.children[1] || null);
    });
  }

  // Each affected item is fetched again (once), so the screen shows what the server holds.
  function refreshItems(entries) {
    if (!window.htmx) return Promise.resolve();
    var seen = {};
    return Promise.all(entries.map(function (entry) {
      var item = itemOf(entry);
      if (!item || seen[idOf(item)]) return null;
      seen[idOf(item)] = true;
      // Each item is its own request's source: htmx lets one element have one request in flight and,
      // of the requests queued behind it, keeps only the last, so with the body as the source of all
      // of them the middle items were never fetched and kept "Saved on this device" (D10).
      return htmx.ajax("GET", urlOf(item), { source: item, target: item, swap: "outerHTML" });
    }));
  }

  function refreshSynced(entries) {
    if (!entries.length || !window.htmx) return;
    refreshItems(entries);
    htmx.trigger(document.body, "audit:synced", { paths: entries.map(function (e) { return e.path; }) });
  }

  // The server's current item replaces the optimistic one, then the refusal is shown on it.
  function refreshProblems(entries) {
    return refreshItems(logic.problems(entries)).then(function () { showProblems(entries); });
  }

  ns.page = {
    routes: routes, refreshBadge: refreshBadge, showLocally: showLocally, showProblems: showProblems,
    refreshSynced: refreshSynced, refreshProblems: refreshProblems,
  };
})(window.auditappOffline = window.auditappOffline || {});
