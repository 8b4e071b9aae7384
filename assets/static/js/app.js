// Emporium: small progressive enhancement on top of htmx.
// Every page works without this file; it only tunes htmx. No inline handlers:
// the CSP forbids inline script.
(function () {
  "use strict";

  if (window.htmx) {
    var config = window.htmx.config;

    // Validation errors come back as 422 with the re-rendered form partial,
    // so swap them like a success. Other 4xx/5xx are not swapped.
    config.responseHandling = [
      { code: "204", swap: false },
      { code: "[23]..", swap: true },
      { code: "422", swap: true },
      { code: "[45]..", swap: false, error: true },
      { code: "...", swap: false }
    ];

    // The CSP has no 'unsafe-inline' for styles; app.css carries the indicator rules.
    config.includeIndicatorStyles = false;

    // The server answers HX-Request with a fragment. A history restore must
    // fetch the full page instead, and pages (CSRF tokens, admin data) are not
    // kept in localStorage: going back simply reloads the page.
    config.historyRestoreAsHxRequest = false;
    config.historyCacheSize = 0;
    config.refreshOnHistoryMiss = true;
  }

  function csrfToken() {
    var meta = document.querySelector('meta[name="csrf-token"]');
    return meta ? meta.getAttribute("content") : "";
  }

  // Send the CSRF token as a header on every htmx request (forms also carry
  // it as a hidden field, for the no-JS path).
  document.addEventListener("htmx:configRequest", function (event) {
    var token = csrfToken();
    if (token) {
      event.detail.headers["X-CSRF-Token"] = token;
    }
  });

  // Upload forms (data-upload-progress): show the bytes sent, and clear the form once the
  // server has taken the file.
  document.addEventListener("htmx:xhr:progress", function (event) {
    var form = event.target.closest && event.target.closest("form[data-upload-progress]");
    var bar = form && form.querySelector("progress");
    if (bar && event.detail.lengthComputable) {
      bar.hidden = false;
      bar.value = Math.round((event.detail.loaded / event.detail.total) * 100);
    }
  });
  document.addEventListener("htmx:afterRequest", function (event) {
    var form = event.target.closest && event.target.closest("form[data-upload-progress]");
    if (!form) {
      return;
    }
    var bar = form.querySelector("progress");
    if (bar) {
      bar.hidden = true;
      bar.value = 0;
    }
    if (event.detail.successful) {
      form.reset();
    }
  });
  // The invoice's Print button: shown only where it can work (with this script).
  document.querySelectorAll("[data-print]").forEach(function (button) {
    button.hidden = false;
    button.addEventListener("click", function () {
      window.print();
    });
  });
})();
