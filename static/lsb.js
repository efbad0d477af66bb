// Behaviour every LSB page may use, without inline script (Content-Security-Policy:
// script-src 'self'): a button marked data-print-page prints the page; a field
// marked data-select-on-focus selects its text when it gets the focus (a new
// search replaces the old one); on a desk page (marked data-focus-first) without
// an autofocus field the cursor starts in the first field, so a scanner or the
// keyboard can start at once.
(function () {
  "use strict";
  document.addEventListener("click", function (event) {
    if (event.target.closest("[data-print-page]")) { window.print(); }
  });
  document.addEventListener("focusin", function (event) {
    if (event.target.matches && event.target.matches("[data-select-on-focus]")) { event.target.select(); }
  });
  function focusFirst() {
    if (!document.querySelector("[data-focus-first]") || document.querySelector("main [autofocus]")) { return; }
    if (document.activeElement && document.activeElement !== document.body) { return; }
    var fields = document.querySelectorAll(
      "main input:not([type=hidden]):not([type=checkbox]):not([type=radio]):not([type=submit]):not([disabled]), " +
      "main select:not([disabled]), main textarea:not([disabled])");
    for (var i = 0; i < fields.length; i++) {
      if (fields[i].offsetParent !== null) { fields[i].focus(); return; }
    }
  }
  if (document.readyState === "loading") { document.addEventListener("DOMContentLoaded", focusFirst); }
  else { focusFirst(); }
})();
