/* On a phone, a long menu folds behind its "Menu" button; on a desk, or without scripts, it is
   always open. The button says how many notices are unread while the menu is folded. */
(function () {
  "use strict";
  var button = document.querySelector("[data-menu]");
  var nav = document.querySelector("nav[data-foldable]");
  if (!button || !nav) return;
  var phone = window.matchMedia("(max-width: 40rem)");
  var label = button.textContent;

  function show(open) {
    nav.classList.toggle("folded", !open);
    button.setAttribute("aria-expanded", String(open));
    var count = nav.querySelector("[data-unread]");
    var unread = count && !count.hidden ? " (" + count.textContent.trim() + ")" : "";
    button.textContent = open ? label : label + unread;
  }

  function fit() {
    button.hidden = !phone.matches;
    show(!phone.matches);
  }

  button.addEventListener("click", function () {
    show(nav.classList.contains("folded"));
  });
  phone.addEventListener("change", fit);
  fit();
})();
