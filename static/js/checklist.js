/* checklist.js: a long checklist made short (issue 14), on the audit screen only (audits/show.html).
   Everything here works on the page as it is, with no request: offline as online (the service
   worker keeps this file with the app shell). It reads what the items already say: an answered item
   has the class "answered" and "r-<result>" (the server's and static/js/offline/page.js's), a
   photo is an <img> in its .photos strip, the clause and question are its <h3>. No item carries
   anything more for it.
   - "Next unanswered" scrolls to the next item without a result after the one last jumped to or
     worked on, if it is still on screen (else after the top of the screen), wrapping round, and
     focuses it (tabindex -1).
   - The filter (all / unanswered / nonconformities / with photos) and the search (a clause prefix
     such as "8.5", or words of the question) hide the items that do not match; while either is on,
     collapsed sections show their matches.
   - Each section's heading is a toggle (a copy added later too); "Collapse answered sections" folds every section whose items
     all have a result. Which sections are folded is kept on the device, per audit (localStorage).
   An item swapped in after an answer stays visible until the filter is changed again, so the item
   just answered does not vanish under the auditor's thumb. */
(function () {
  "use strict";

  // Items skip layout (content-visibility: auto, app.css) only until the page is parsed. At
  // DOMContentLoaded the browser looks at every form field (Chromium's form autofill), and a field in
  // a skipped item makes it lay out that item on its own: 91 layouts of the whole page, one per
  // off-screen item of the 94-item audit, about 2 s at 4x CPU before the load event. Once the lists
  // are marked here (this listener runs before the browser's look), that is one layout of the page.
  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll(".items").forEach(function (list) { list.classList.add("laid-out"); });
  });

  var toolsBox = document.querySelector("[data-checklist=tools]");
  var findBox = document.querySelector("[data-checklist=find]");
  if (!toolsBox || !findBox) return;

  // The controls: built here, so the page carries no markup for them (audits/show.html).
  function make(tag, attrs, text) {
    var el = document.createElement(tag);
    Object.keys(attrs).forEach(function (name) { el.setAttribute(name, attrs[name]); });
    if (text) el.textContent = text;
    return el;
  }
  var nextButton = make("button", { type: "button", "data-next-unanswered": "" }, "Next unanswered");
  var filterBox = make("select", { "aria-label": "Show", "data-checklist-filter": "" });
  [["all", "All items"], ["unanswered", "Unanswered"], ["nc", "Nonconformities"], ["photos", "With photos"]]
    .forEach(function (o) { filterBox.appendChild(make("option", { value: o[0] }, o[1])); });
  var searchBox = make("input", { type: "search", "aria-label": "Search by clause or word",
    placeholder: "Clause or word", autocomplete: "off", "data-checklist-search": "" });
  var foldButton = make("button", { type: "button", "aria-label": "Collapse answered sections", "data-collapse-answered": "" },
    "Collapse answered");
  var statusBox = make("p", { class: "muted checklist-shown", role: "status", "data-checklist-status": "" });
  toolsBox.append(nextButton, filterBox);
  findBox.append(searchBox, foldButton, statusBox);
  var storeKey = "auditapp:collapsed:" + location.pathname;
  var lastItem = null;  // the id of the item last focused or jumped to

  function items() { return Array.prototype.slice.call(document.querySelectorAll(".items > .item")); }
  function sections() { return Array.prototype.slice.call(document.querySelectorAll("section.section")); }
  function isAnswered(item) { return item.classList.contains("answered"); }
  // show-if (issue 15): an item hidden by its condition, or in a hidden section, is not asked.
  function notAsked(item) { return item.hidden || Boolean(item.closest("section[hidden]")); }
  function say(text) { statusBox.textContent = text; }

  // --- collapsing sections --------------------------------------------------------------------------
  function stored() {
    try { return JSON.parse(localStorage.getItem(storeKey) || "[]"); } catch (e) { return []; }
  }
  function remember() {
    var folded = sections().filter(function (s) { return s.classList.contains("collapsed"); })
      .map(function (s) { return s.id; });
    try {
      if (folded.length) localStorage.setItem(storeKey, JSON.stringify(folded));
      else localStorage.removeItem(storeKey);
    } catch (e) { /* storage full or refused: the folding still works for this visit */ }
  }
  function fold(section, collapsed) {
    section.classList.toggle("collapsed", collapsed);
    var toggle = section.querySelector(".sec-toggle");
    if (toggle) toggle.setAttribute("aria-expanded", String(!collapsed));
  }

  function addToggle(section) {
    var heading = section.querySelector("h2"), list = section.querySelector(".items");
    if (!heading || !list || heading.querySelector(".sec-toggle")) return;
    list.id = list.id || "items-" + section.id;
    var toggle = document.createElement("button");
    toggle.type = "button";
    toggle.className = "sec-toggle";
    toggle.setAttribute("aria-controls", list.id);
    toggle.setAttribute("aria-expanded", "true");
    toggle.append.apply(toggle, Array.prototype.slice.call(heading.childNodes));
    heading.appendChild(toggle);
    toggle.addEventListener("click", function () {
      fold(section, !section.classList.contains("collapsed"));
      remember();
    });
  }
  sections().forEach(addToggle);
  // A repeating section's copy added since the page loaded (audits.add_copy, swapped in by htmx) gets its own.
  document.addEventListener("htmx:load", function (evt) {
    var root = evt.target;
    if (root.matches && root.matches("section.section")) addToggle(root);
  });
  stored().forEach(function (id) {
    var section = document.getElementById(id);
    if (section && section.matches("section.section")) fold(section, true);
  });

  foldButton.addEventListener("click", function () {
    var folded = 0;
    sections().forEach(function (section) {
      var all = section.querySelectorAll(".items > .item");
      if (all.length && section.querySelectorAll(".items > .item.answered").length === all.length) {
        if (!section.classList.contains("collapsed")) folded += 1;
        fold(section, true);
      }
    });
    remember();
    say(folded ? folded + (folded === 1 ? " answered section collapsed." : " answered sections collapsed.")
      : "No other section has every item answered yet.");
  });

  // --- filter and search ----------------------------------------------------------------------------
  var CLAUSE = /^\d+(\.\d+)*\.?$/;

  function matcher() {
    var filter = filterBox.value, query = searchBox.value.trim().toLowerCase();
    if (filter === "all" && !query) return null;
    var words = query.split(/\s+/).filter(Boolean);
    return function (item) {
      if (filter === "unanswered" && isAnswered(item)) return false;
      if (filter === "nc" && !/\br-(minor_nc|major_nc)\b/.test(item.className)) return false;
      if (filter === "photos" && !item.querySelector(".photos img")) return false;
      if (!query) return true;
      var heading = item.querySelector("h3"), clause = item.querySelector("h3 .clause");
      if (CLAUSE.test(query)) return !!clause && clause.textContent.trim().indexOf(query.replace(/\.$/, "")) === 0;
      var text = heading ? heading.textContent.toLowerCase() : "";
      return words.every(function (w) { return text.indexOf(w) !== -1; });
    };
  }

  function apply() {
    var match = matcher(), all = items(), shown = 0;
    document.body.classList.toggle("checklist-filtering", !!match);
    all.forEach(function (item) {
      var ok = !match || match(item);
      item.classList.toggle("filtered-out", !ok);
      if (ok) shown += 1;
    });
    sections().forEach(function (section) {
      section.classList.toggle("no-match", !!match && !section.querySelector(".items > .item:not(.filtered-out)"));
      var toggle = section.querySelector(".sec-toggle");
      if (toggle) toggle.disabled = !!match;  // a filter shows its matches in folded sections too
    });
    say(!match ? "" : shown ? shown + " of " + all.length + " items shown." : "No item matches.");
  }

  filterBox.addEventListener("change", apply);
  searchBox.addEventListener("input", apply);

  // --- next unanswered ------------------------------------------------------------------------------
  document.addEventListener("focusin", function (evt) {
    var item = evt.target.closest && evt.target.closest(".items > .item");
    if (item) lastItem = item.id;
  });

  function startIndex(all) {
    var last = lastItem && document.getElementById(lastItem);
    if (last && last.getClientRects().length) {  // still on screen: go on from there
      var box = last.getBoundingClientRect();
      if (box.bottom > 0 && box.top < window.innerHeight) return all.indexOf(last);
    }
    var sticky = document.querySelector(".sticky");
    var top = sticky ? sticky.getBoundingClientRect().bottom : 0;
    for (var i = 0; i < all.length; i++) {  // a hidden item stands where its section is
      var shown = all[i].getClientRects().length ? all[i] : all[i].closest("section.section");
      if (shown && shown.getBoundingClientRect().bottom > top + 1) return i - 1;
    }
    return -1;
  }

  nextButton.addEventListener("click", function () {
    var all = items(), start = startIndex(all), target = null;
    for (var step = 1; step <= all.length && !target; step++) {
      var item = all[(start + step + all.length) % all.length];
      if (!isAnswered(item) && !notAsked(item)) target = item;
    }
    if (!target) { say("Every item has a result."); return; }
    if (target.classList.contains("filtered-out")) {  // the filter hid it: show everything again
      filterBox.value = "all";
      searchBox.value = "";
      apply();
    }
    var section = target.closest("section.section");
    if (section && section.classList.contains("collapsed")) { fold(section, false); remember(); }
    lastItem = target.id;
    target.tabIndex = -1;
    target.scrollIntoView({ block: "start" });
    var sticky = document.querySelector(".sticky");  // its height varies with the width: measure it
    var covered = sticky ? sticky.getBoundingClientRect().bottom + 8 - target.getBoundingClientRect().top : 0;
    if (covered > 0) window.scrollBy(0, -covered);
    target.focus({ preventScroll: true });
  });

  toolsBox.hidden = findBox.hidden = false;
})();
