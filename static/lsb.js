// Behaviour every LSB page may use, without inline script (Content-Security-Policy:
// script-src 'self'): a button marked data-print-page prints the page; a field
// marked data-select-on-focus selects its text when it gets the focus (a new
// search replaces the old one).
(function () {
  "use strict";
  document.addEventListener("click", function (event) {
    if (event.target.closest("[data-print-page]")) { window.print(); }
  });
  document.addEventListener("focusin", function (event) {
    if (event.target.matches && event.target.matches("[data-select-on-focus]")) { event.target.select(); }
  });
})();
