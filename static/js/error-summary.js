/* A form sent back with mistakes shows a box at the top of the page that lists them
 * (templates/_macros.html, error_summary): on a phone the page opens at the top, the fields
 * far below. The focus goes to the box, so that it is seen and read out first; each of its links
 * moves the focus to its field (the first choice of a group) and shows the field's label. */
(function () {
  "use strict";

  function focusable(target) {
    if (target.matches("input, select, textarea, button")) {
      return target;
    }
    return target.querySelector("input:not([type=hidden]), select, textarea") || target;
  }

  function start() {
    var summary = document.querySelector("[data-error-summary]");
    if (!summary) {
      return;
    }
    summary.focus();
    summary.addEventListener("click", function (event) {
      var link = event.target.closest("a[data-field]");
      var target = link && document.getElementById(link.dataset.field);
      if (!target) {
        return;
      }
      event.preventDefault();
      var folded = target.closest("details");
      if (folded) {
        folded.open = true;
      }
      var field = target.closest(".field, fieldset") || target;
      field.scrollIntoView({ block: "start" });
      focusable(target).focus({ preventScroll: true });
    });
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
