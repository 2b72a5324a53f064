/* markup.js: owns marking up a photo on the phone before it is sent: a circle (or ellipse), an arrow and
   short labels, drawn with a finger, a pen or a mouse (pointer events) on a canvas over the photo; undo;
   send or cancel. Optional: "Add photo" sends a photo at once, as ever.
   - offline/photos.js makes the "Mark up" button beside "Add photo" (each item's photo form, or a form
     with data-markup-here), downscales the photo it picks, fetches this script on first use and calls
     auditappMarkup.open(form, photo).
   - Send: the photo goes as the form's "photo" and, when something was drawn, the marked-up copy (same
     size, JPEG) as "marked_up", added to htmx's request (htmx:configRequest): one change, one change id.
     The server keeps both, linked (auditapp/audits/item_views.py add_photos); offline, the outbox keeps
     the change with both files and sends it once. Nothing drawn: the photo goes alone, as "Add photo".
   Shapes are kept in the photo's pixels and drawn twice: on screen at the screen's size, and at the
   photo's size for the copy sent. No inline scripts or styles (sizes go through the CSSOM; colours are
   app.css's "photo markup" block), nothing from outside: safe under the Content-Security-Policy. */
(function () {
  "use strict";

  // An item's photo form sends itself when a photo is chosen; a form that opted in with data-markup-here
  // sends its photos with other fields, by a button: the photo and its copy then wait in it until it is sent.
  var SENDS_ITSELF = 'form[data-change="photo"]';
  var RED = "#d7191c", HALO = "rgba(255,255,255,0.92)", INK = "#fff";
  var LABEL_MAX = 40;
  var pending = typeof WeakMap === "function" ? new WeakMap() : null;  // form -> marked-up copies for its next request

  if (!window.createImageBitmap || typeof DataTransfer !== "function" || !pending) return;

  // Photos chosen again by hand replace the form's photos: the copies of the ones marked up go with them.
  document.addEventListener("change", function (evt) {
    var input = evt.target;
    if (evt.isTrusted && input.form && input.matches('input[type="file"][name="photo"]')) pending.delete(input.form);
  }, true);

  // The n-th copy is of the n-th photo (auditapp/audits/item_views.py add_photos): marked-up photos go first.
  document.addEventListener("htmx:configRequest", function (evt) {
    var copies = pending.get(evt.detail.elt);
    if (!copies) return;
    pending.delete(evt.detail.elt);
    copies.forEach(function (copy) { evt.detail.formData.append("marked_up", copy, copy.name); });
  });

  function send(form, photo, copy) {
    var input = form.querySelector('input[type="file"][name="photo"]');
    var sendsItself = form.matches(SENDS_ITSELF);
    var copies = (!sendsItself && pending.get(form)) || [];
    var chosen = new DataTransfer();
    var others = sendsItself ? [] : Array.from(input.files);
    if (copy) {
      copies.push(copy);
      others.splice(copies.length - 1, 0, photo);  // after the photos already marked up, before the rest
    } else {
      others.push(photo);
    }
    others.forEach(function (file) { chosen.items.add(file); });
    input.files = chosen.files;
    if (copies.length) pending.set(form, copies);
    else pending.delete(form);
    if (sendsItself) form.requestSubmit();
    else input.dispatchEvent(new Event("change", { bubbles: true }));  // the form's own preview, if it has one
  }

  // --- drawing ------------------------------------------------------------------------------------

  // Sizes follow the photo (its long edge), so a mark looks the same on any photo.
  function measures(width, height) {
    var edge = Math.max(width, height);
    return { line: Math.max(3, Math.round(edge / 110)), font: Math.max(14, Math.round(edge / 20)), edge: edge };
  }

  function strokeTwice(ctx, line, path) {
    ctx.lineCap = "round";
    ctx.lineJoin = "round";
    ctx.strokeStyle = HALO;
    ctx.lineWidth = line * 1.9;
    path();
    ctx.stroke();
    ctx.strokeStyle = RED;
    ctx.lineWidth = line;
    path();
    ctx.stroke();
  }

  function drawShape(ctx, shape, m) {
    if (shape.type === "circle") {
      var cx = (shape.x0 + shape.x1) / 2, cy = (shape.y0 + shape.y1) / 2;
      var rx = Math.max(Math.abs(shape.x1 - shape.x0) / 2, 1), ry = Math.max(Math.abs(shape.y1 - shape.y0) / 2, 1);
      strokeTwice(ctx, m.line, function () {
        ctx.beginPath();
        ctx.ellipse(cx, cy, rx, ry, 0, 0, 2 * Math.PI);
      });
    } else if (shape.type === "arrow") {
      var angle = Math.atan2(shape.y1 - shape.y0, shape.x1 - shape.x0);
      var head = Math.min(m.line * 5, Math.hypot(shape.x1 - shape.x0, shape.y1 - shape.y0) * 0.6);
      strokeTwice(ctx, m.line, function () {
        ctx.beginPath();
        ctx.moveTo(shape.x0, shape.y0);
        ctx.lineTo(shape.x1, shape.y1);
        ctx.moveTo(shape.x1 - head * Math.cos(angle - 0.45), shape.y1 - head * Math.sin(angle - 0.45));
        ctx.lineTo(shape.x1, shape.y1);
        ctx.lineTo(shape.x1 - head * Math.cos(angle + 0.45), shape.y1 - head * Math.sin(angle + 0.45));
      });
    } else if (shape.type === "label") {
      ctx.font = "bold " + m.font + "px sans-serif";
      ctx.textBaseline = "middle";
      var pad = Math.round(m.font * 0.35), w = ctx.measureText(shape.text).width + 2 * pad, h = m.font + 2 * pad;
      var x = Math.min(Math.max(shape.x, 0), Math.max(shape.width - w, 0));
      var y = Math.min(Math.max(shape.y - h / 2, 0), Math.max(shape.height - h, 0));
      ctx.fillStyle = HALO;
      ctx.fillRect(x - m.line / 2, y - m.line / 2, w + m.line, h + m.line);
      ctx.fillStyle = RED;
      ctx.fillRect(x, y, w, h);
      ctx.fillStyle = INK;
      ctx.fillText(shape.text, x + pad, y + h / 2);
    }
  }

  function paint(ctx, bitmap, shapes, extra) {
    var m = measures(bitmap.width, bitmap.height);
    ctx.drawImage(bitmap, 0, 0, bitmap.width, bitmap.height);
    shapes.concat(extra ? [extra] : []).forEach(function (shape) { drawShape(ctx, shape, m); });
  }

  // A tap rather than a drag still makes a mark: a circle around the spot, an arrow pointing at it.
  function finished(shape, m) {
    if (Math.hypot(shape.x1 - shape.x0, shape.y1 - shape.y0) >= m.edge / 40) return shape;
    var r = m.edge * 0.07;
    if (shape.type === "circle") return { type: "circle", x0: shape.x1 - r, y0: shape.y1 - r, x1: shape.x1 + r, y1: shape.y1 + r };
    return { type: "arrow", x0: shape.x1 - 2 * r, y0: shape.y1 + 2 * r, x1: shape.x1, y1: shape.y1 };
  }

  function copyOf(file, bitmap, shapes) {
    var canvas = document.createElement("canvas");
    canvas.width = bitmap.width;
    canvas.height = bitmap.height;
    paint(canvas.getContext("2d"), bitmap, shapes);
    return new Promise(function (resolve) {
      canvas.toBlob(function (blob) {
        if (!blob) return resolve(null);
        var name = (file.name || "photo.jpg").replace(/\.[^.]*$/, "") + "-marked.jpg";
        var copy = new File([blob], name, { type: "image/jpeg" });
        var photos = window.auditappOffline && window.auditappOffline.photos;
        resolve(photos && photos.adopt ? photos.adopt(copy) : copy);
      }, "image/jpeg", 0.85);
    });
  }

  // --- the markup screen --------------------------------------------------------------------------

  function button(text, attrs, cls) {
    var b = document.createElement("button");
    b.type = "button";
    b.textContent = text;
    if (cls) b.className = cls;
    Object.keys(attrs || {}).forEach(function (k) { b.setAttribute(k, attrs[k]); });
    return b;
  }

  function open(form, file) {
    createImageBitmap(file).then(function (bitmap) { editor(form, file, bitmap); }, function () {
      send(form, file, null);  // a photo this browser cannot draw goes as it is; the server decides
    });
  }

  function editor(form, file, bitmap) {
    var shapes = [], tool = "circle", drawing = null, scale;
    var dialog = document.createElement("dialog");
    dialog.className = "markup";
    dialog.setAttribute("aria-label", "Mark up the photo");

    var tools = document.createElement("div");
    tools.className = "markup-tools";
    tools.setAttribute("role", "toolbar");
    tools.setAttribute("aria-label", "Drawing tools");
    var toolButtons = [
      button("Circle", { "data-tool": "circle", "aria-pressed": "true" }),
      button("Arrow", { "data-tool": "arrow", "aria-pressed": "false" }),
      button("Label", { "data-tool": "label", "aria-pressed": "false" }),
    ];
    var undo = button("Undo", { "data-undo": "" });
    undo.disabled = true;
    toolButtons.concat([undo]).forEach(function (b) { tools.appendChild(b); });

    var labelRow = document.createElement("div");
    labelRow.className = "markup-label";
    labelRow.hidden = true;
    var text = document.createElement("input");
    text.type = "text";
    text.maxLength = LABEL_MAX;
    text.placeholder = "Type a label, then tap the photo";
    text.setAttribute("aria-label", "Label text");
    text.setAttribute("enterkeyhint", "done");
    labelRow.appendChild(text);

    var stage = document.createElement("div");
    stage.className = "markup-stage";
    var canvas = document.createElement("canvas");
    canvas.setAttribute("role", "img");
    canvas.setAttribute("aria-label", "The photo: drag to draw the chosen mark");
    stage.appendChild(canvas);

    var actions = document.createElement("div");
    actions.className = "markup-actions";
    var cancel = button("Cancel", { "data-cancel": "" }, "button-quiet");
    var done = button("Send photo", { "data-send": "" }, "button-primary");
    actions.appendChild(cancel);
    actions.appendChild(done);

    [tools, labelRow, stage, actions].forEach(function (el) { dialog.appendChild(el); });
    document.body.appendChild(dialog);
    dialog.showModal();

    var ctx = canvas.getContext("2d");
    function layout() {
      var dpr = window.devicePixelRatio || 1;
      scale = Math.min(stage.clientWidth / bitmap.width, stage.clientHeight / bitmap.height);
      var cssWidth = Math.max(1, Math.floor(bitmap.width * scale)), cssHeight = Math.max(1, Math.floor(bitmap.height * scale));
      canvas.style.width = cssWidth + "px";
      canvas.style.height = cssHeight + "px";
      canvas.width = Math.round(cssWidth * dpr);
      canvas.height = Math.round(cssHeight * dpr);
      redraw();
    }
    function redraw() {
      ctx.setTransform(canvas.width / bitmap.width, 0, 0, canvas.height / bitmap.height, 0, 0);
      paint(ctx, bitmap, shapes, drawing);
    }
    function changed() {
      undo.disabled = !shapes.length;
      done.textContent = shapes.length ? "Send with marks" : "Send photo";
      redraw();
    }
    function pointAt(evt) {
      var rect = canvas.getBoundingClientRect();
      return {
        x: Math.min(Math.max((evt.clientX - rect.left) / rect.width, 0), 1) * bitmap.width,
        y: Math.min(Math.max((evt.clientY - rect.top) / rect.height, 0), 1) * bitmap.height,
      };
    }
    function choose(name) {
      tool = name;
      toolButtons.forEach(function (b) { b.setAttribute("aria-pressed", b.dataset.tool === name ? "true" : "false"); });
      labelRow.hidden = name !== "label";
      if (name === "label") text.focus();
      layout();  // the label row takes room from the photo
    }

    tools.addEventListener("click", function (evt) {
      var b = evt.target.closest("button");
      if (!b) return;
      if (b.dataset.tool) choose(b.dataset.tool);
      else if (b.hasAttribute("data-undo")) { shapes.pop(); changed(); }
    });
    canvas.addEventListener("pointerdown", function (evt) {
      if (evt.button > 0) return;
      evt.preventDefault();
      var p = pointAt(evt);
      if (tool === "label") {
        var words = text.value.trim().slice(0, LABEL_MAX);
        if (!words) { text.focus(); return; }
        shapes.push({ type: "label", x: p.x, y: p.y, text: words, width: bitmap.width, height: bitmap.height });
        text.value = "";
        changed();
        return;
      }
      drawing = { type: tool, x0: p.x, y0: p.y, x1: p.x, y1: p.y };
      if (canvas.setPointerCapture) canvas.setPointerCapture(evt.pointerId);
    });
    canvas.addEventListener("pointermove", function (evt) {
      if (!drawing) return;
      var p = pointAt(evt);
      drawing.x1 = p.x;
      drawing.y1 = p.y;
      redraw();
    });
    function endStroke(evt) {
      if (!drawing) return;
      if (evt.type === "pointerup") {
        var p = pointAt(evt);
        drawing.x1 = p.x;
        drawing.y1 = p.y;
        shapes.push(finished(drawing, measures(bitmap.width, bitmap.height)));
      }
      drawing = null;
      changed();
    }
    canvas.addEventListener("pointerup", endStroke);
    canvas.addEventListener("pointercancel", endStroke);
    text.addEventListener("keydown", function (evt) { if (evt.key === "Enter") { evt.preventDefault(); text.blur(); } });

    function close() {
      window.removeEventListener("resize", layout);
      if (dialog.open) dialog.close();
      dialog.remove();
    }
    dialog.addEventListener("cancel", function () { close(); if (bitmap.close) bitmap.close(); });
    cancel.addEventListener("click", function () { close(); if (bitmap.close) bitmap.close(); });
    done.addEventListener("click", function () {
      done.disabled = true;
      var made = shapes.length ? copyOf(file, bitmap, shapes) : Promise.resolve(null);
      made.then(function (copy) {
        close();
        if (bitmap.close) bitmap.close();
        send(form, file, copy);
      });
    });
    window.addEventListener("resize", layout);
    layout();
  }
  window.auditappMarkup = { open: open };
})();
