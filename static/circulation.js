// Desk screens for circulation (uitlening). No framework: the screens work as plain
// HTML forms; this (1) puts the screen's own address back in the location bar after
// a scan was answered (a reload then never repeats the scan), (2) keeps the focus in
// the scan field when it would otherwise be lost, (3) prints the receipt, and
// (4) sends the scans (forms marked data-scan-form) with fetch and the header
// `HX-Request: true`, so the server answers only what changed (the outcome or
// refusal, the new row; circulation/views.py) and the page stays as it is.
//
// Scanner first: the scanner types the code and Enter. The field is cleared at once
// and the scan waits in a queue while an earlier one is still on its way, so two
// codes scanned quickly are both sent, one after the other, in order. When the
// server cannot be reached (or answers 503) the Dutch message names the codes that
// were not handled. The list of this desk's scans is kept in sessionStorage (per
// screen and card), so it survives a reload of the page.
(function () {
  "use strict";
  var canonical = document.querySelector("[data-canonical-url]");
  if (canonical && window.history && window.history.replaceState) {
    window.history.replaceState(null, "", canonical.getAttribute("data-canonical-url"));
  }
  var scan = document.querySelector("[data-scan]");
  if (scan) {
    if (document.activeElement === document.body) { scan.focus(); }
    // Clicking on the page (not on a field, button or link) puts the focus back in the scan field.
    document.addEventListener("click", function (event) {
      if (!event.target.closest("a, button, input, select, textarea, label")) { scan.focus(); }
    });
  }
  document.addEventListener("click", function (event) {
    if (event.target.closest("[data-print]")) { window.print(); }
  });

  var output = document.querySelector("[data-scan-output]");
  if (!output || !window.fetch || !window.FormData) { return; }  // plain forms, full pages

  var NO_SERVER = "Geen verbinding met de server; niet verwerkt: ";
  var NOT_A_SCAN = "De server gaf geen antwoord op de scan (bent u nog aangemeld? herlaad de pagina); niet verwerkt: ";
  var KEPT = 60;
  var list = document.querySelector("[data-scan-list]");
  var storeKey = list ? "lsb-scans:" + list.getAttribute("data-scan-list") : null;
  var queue = [];
  var busy = false;

  function stored() {
    try { return JSON.parse(window.sessionStorage.getItem(storeKey) || "[]"); } catch (e) { return []; }
  }

  function remember(row) {
    if (!storeKey) { return; }
    var key = row.getAttribute("data-key");
    var rows = stored().filter(function (entry) { return entry.key !== key; });
    rows.unshift({key: key, html: row.outerHTML});
    try { window.sessionStorage.setItem(storeKey, JSON.stringify(rows.slice(0, KEPT))); } catch (e) { /* full */ }
  }

  function show(table) {
    table.hidden = false;
    var note = table.parentNode.querySelector("[data-empty-note]");
    if (note) { note.hidden = true; }
  }

  function parse(html) {
    var template = document.createElement("template");
    template.innerHTML = html;
    return template.content;
  }

  // Rows of this desk's earlier scans (this tab) that the server's page does not list.
  if (list && storeKey) {
    var body = list.tBodies[0];
    stored().forEach(function (entry) {
      if (!body.querySelector('[data-key="' + entry.key + '"]')) {
        var row = parse("<table><tbody>" + entry.html + "</tbody></table>").querySelector("tr");
        if (row) { body.appendChild(row); show(list); }
      }
    });
  }

  function message(text) {
    output.innerHTML = "";
    var errors = document.createElement("ul");
    errors.className = "errorlist circ-errors";
    errors.setAttribute("role", "alert");
    errors.setAttribute("data-testid", "errors");
    var item = document.createElement("li");
    item.textContent = text;
    errors.appendChild(item);
    output.appendChild(errors);
  }

  function place(fragment) {
    var answer = fragment.querySelector('[data-part="output"]');
    output.innerHTML = "";
    if (answer) { while (answer.firstChild) { output.appendChild(answer.firstChild); } }
    var row = fragment.querySelector('[data-part="scanned"] tr');
    if (row && list) {
      var old = list.querySelector('[data-key="' + row.getAttribute("data-key") + '"]');
      if (old) { old.remove(); }
      list.tBodies[0].insertBefore(row, list.tBodies[0].firstChild);
      show(list);
      remember(row);
    }
    var loan = fragment.querySelector('[data-part="loans"] tr');
    var loans = document.querySelector("[data-loans-list]");
    if (loan && loans) {
      var same = loans.querySelector('[data-key="' + loan.getAttribute("data-key") + '"]');
      if (same) {
        same.replaceWith(loan);
      } else {
        loans.appendChild(loan);  // the newest loan is due last
        var count = document.querySelector("[data-loans-count]");
        if (count) { count.textContent = String(loans.rows.length); }
        document.querySelectorAll("[data-loans-only]").forEach(function (element) { element.hidden = false; });
        var section = loans.closest("section");
        var note = section && section.querySelector("[data-empty-note]");
        if (note) { note.hidden = true; }
      }
    }
    var balance = fragment.querySelector('[data-part="balance"]');
    var shown = document.querySelector('[data-testid="balance"]');
    if (balance && shown) { shown.textContent = balance.textContent; }
  }

  function codes(job) {
    return [job].concat(queue).map(function (entry) { return entry.code; }).filter(Boolean).join(", ");
  }

  function next() {
    if (busy || !queue.length) { return; }
    busy = true;
    var job = queue.shift();
    window.fetch(job.action, {
      method: "POST", body: job.data, credentials: "same-origin",
      headers: {"HX-Request": "true", "X-CSRFToken": job.data.get("csrfmiddlewaretoken") || ""}
    }).then(function (response) {
      return response.text().then(function (text) {
        if (response.headers.get("X-LSB-Fragment") !== "scan") {
          message(NOT_A_SCAN + codes(job) + ".");
          queue = [];  // they would meet the same answer
          return;
        }
        place(parse(text));  // 200, 422 and 503 all answer a fragment with their Dutch text
      });
    }, function () {
      message(NO_SERVER + codes(job) + ". Scan opnieuw.");
      queue = [];
    }).then(function () {
      busy = false;
      var reason = document.querySelector("#override-reason");
      if (scan && (!reason || document.activeElement !== reason)) { scan.focus(); }
      next();
    });
  }

  document.addEventListener("submit", function (event) {
    var form = event.target.closest("[data-scan-form]");
    if (!form) { return; }
    event.preventDefault();
    var data = new FormData(form);
    if (event.submitter && event.submitter.name) { data.append(event.submitter.name, event.submitter.value); }
    var field = form.querySelector("[data-scan]");
    var code = (data.get("barcode") || "").toString().trim();
    if (field) {
      if (!code) { field.focus(); return; }
      field.value = "";
      field.focus();
    }
    queue.push({action: form.action, data: data, code: code});
    next();
  });
})();
