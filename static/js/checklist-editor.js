/* checklist-editor.js: the checklist editor (checklists/editor.html), loaded on that page only.
   - Each problem's "Line N" link (in the live feedback htmx swaps in) moves the caret to that line of the
     textarea, selects it and scrolls it into view; without JavaScript the link still jumps to the textarea.
   - Under the textarea: the caret's line and column, the numbers the problems use.
   - Leaving the page with unpublished changes asks first (a refused publish shows the editor again with the
     text, so only leaving the page could lose it). */
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

  if (form) form.addEventListener("submit", function () { sending = true; });
  window.addEventListener("beforeunload", function (event) {
    if (sending || area.value === published) return;
    event.preventDefault();
    event.returnValue = "";
  });
})();
