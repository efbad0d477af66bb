// Desk screens for circulation (uitlening). No framework: the screens work as plain
// HTML forms; this only (1) puts the screen's own address back in the location bar
// after a scan was answered (a reload then never repeats the scan), (2) keeps the
// focus in the scan field when it would otherwise be lost, and (3) prints the receipt.
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
})();
