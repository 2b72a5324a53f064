/* checklist-editor.js: the checklist editor (checklists/editor.html), loaded on that page only.
   - Each problem's "Line N" link (in the live feedback htmx swaps in) moves the caret to that line of the
     textarea, selects it and scrolls it into view; without JavaScript the link still jumps to the textarea.
   - Under the textarea: the caret's line and column, the numbers the problems use.
   - Leaving the page with unpublished changes asks first (a refused publish shows the editor again with the
     text, so only leaving the page could lose it).
   - The text is also kept in this tab's sessionStorage, per checklist and version it was opened on: if the
     editor opens again with other text (the login had ended, so Publish led to the login page), it offers to
     put the kept text back.
   - The live feedback is swapped in for a refused check too (an expired page: 400, too large: 413), which
     htmx would otherwise leave out (base.html swaps 2xx, 409 and 422 only). */
(function () {
  "use strict";

  var area = document.querySelector("textarea[data-editor]");
  if (!area) return;
  var caret = document.querySelector("[data-editor-caret]");
  var form = area.form;
  var published = area.value;
  var sending = false;

  function lineStart(text, line) {
    var at = 0;
    for (var n = 1; n < line; n++) {
      var next = text.indexOf("\n", at);
      if (next < 0) return text.length;
      at = next + 1;
    }
    return at;
  }

  function goToLine(line) {
    var text = area.value;
    var start = lineStart(text, line);
    var end = text.indexOf("\n", start);
    if (end < 0) end = text.length;
    area.focus();
    area.setSelectionRange(start, end);
    var height = parseFloat(window.getComputedStyle(area).lineHeight) || 20;
    area.scrollTop = Math.max(0, (line - 1) * height - area.clientHeight / 3);
    area.scrollLeft = 0;
    if (area.getBoundingClientRect().top < 0 || area.getBoundingClientRect().top > window.innerHeight) {
      area.scrollIntoView({ block: "start" });
    }
    showCaret();
  }

  function showCaret() {
    if (!caret) return;
    var before = area.value.slice(0, area.selectionStart);
    var line = before.split("\n").length;
    var column = before.length - before.lastIndexOf("\n");
    caret.textContent = "Line " + line + ", column " + column;
  }

  document.addEventListener("click", function (event) {
    var link = event.target.closest ? event.target.closest("a[data-line]") : null;
    if (!link) return;
    event.preventDefault();
    goToLine(parseInt(link.getAttribute("data-line"), 10) || 1);
  });
  ["keyup", "click", "select", "input", "focus"].forEach(function (name) {
    area.addEventListener(name, showCaret);
  });

  document.body.addEventListener("htmx:beforeSwap", function (event) {
    var status = event.detail.xhr.status;
    if (event.detail.target && event.detail.target.id === "editor-problems" && (status === 400 || status === 413)) {
      event.detail.shouldSwap = true;
      event.detail.isError = false;
    }
  });

  // The draft kept in this tab.
  var keyField = form && form.querySelector("input[name=key]");
  var baseField = form && form.querySelector("input[name=base]");
  var storeKey = "auditapp:checklist-draft:" + ((keyField && keyField.value) || "new") + ":" + ((baseField && baseField.value) || "");
  var saveTimer = null;
  function keep() {
    try { window.sessionStorage.setItem(storeKey, area.value); } catch (e) { /* full or refused: the page still has it */ }
  }
  area.addEventListener("input", function () {
    window.clearTimeout(saveTimer);
    saveTimer = window.setTimeout(keep, 500);
  });
  var kept = null;
  try { kept = window.sessionStorage.getItem(storeKey); } catch (e) { kept = null; }
  if (kept && kept !== area.value) {
    var offer = document.createElement("p");
    offer.className = "notice editor-restore";
    offer.setAttribute("data-editor-restore", "");
    offer.textContent = "This tab kept text you had not published. ";
    var restore = document.createElement("button");
    restore.type = "button";
    restore.textContent = "Put it back";
    restore.addEventListener("click", function () {
      area.value = kept;
      area.dispatchEvent(new Event("input", { bubbles: true }));
      offer.remove();
      area.focus();
    });
    offer.appendChild(restore);
    area.parentNode.insertBefore(offer, area.previousElementSibling || area);
  }

  if (form) form.addEventListener("submit", function () { sending = true; keep(); });
  window.addEventListener("beforeunload", function (event) {
    if (sending || area.value === published) return;
    event.preventDefault();
    event.returnValue = "";
  });
})();
