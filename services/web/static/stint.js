// Progressive enhancement only: every page works without this file.
(function () {
  "use strict";
  // Move focus to the error summary, so screen readers announce what went wrong (GOV.UK pattern).
  var summary = document.querySelector("[data-focus]");
  if (summary) { summary.focus(); }
  // Long uploads say they are working, and cannot be sent twice.
  Array.prototype.forEach.call(document.querySelectorAll("form[data-progress]"), function (form) {
    form.addEventListener("submit", function () {
      var button = form.querySelector("button[type=submit]");
      var status = form.querySelector(".progress");
      if (button) { button.disabled = true; }
      if (status) { status.textContent = form.getAttribute("data-progress"); }
    });
  });
  // Share links: select the whole link on focus, ready to copy.
  Array.prototype.forEach.call(document.querySelectorAll("input[readonly]"), function (input) {
    input.addEventListener("focus", function () { input.select(); });
  });
})();
