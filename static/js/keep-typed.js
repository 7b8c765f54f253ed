/* The language switch (templates/base.html) sends a form and the page comes back in the other
 * language: what was typed in the page's forms would be lost. So when the switch is used, the
 * text typed (text inputs, text areas, selects, radio buttons and check boxes; never a password,
 * a hidden input such as the CSRF token, or a file) is kept in this tab's sessionStorage for the
 * page the switch leads back to, put back when that page opens, and forgotten then.
 */
(function () {
  "use strict";

  var PREFIX = "butlerdesk.typed:";
  var KEEP_FOR = 5 * 60 * 1000;  // a switch that led elsewhere leaves nothing to find later
  var NOT_TYPED = ["password", "hidden", "file", "submit", "button", "reset", "image"];

  function storage() {
    try {
      return window.sessionStorage;
    } catch (error) {  // storage turned off
      return null;
    }
  }

  // The page's own forms (not the header's: the switch, logging out), each by its action and
  // how many forms with that action come before it.
  function forms() {
    var seen = {};
    var found = [];
    Array.prototype.forEach.call(document.forms, function (form) {
      if (form.closest("header")) {
        return;
      }
      var action = form.getAttribute("action") || "";
      seen[action] = (seen[action] || 0) + 1;
      found.push({ key: action + "#" + seen[action], form: form });
    });
    return found;
  }

  // The typed fields of a form, each by its name and how many of that name come before it
  // (a radio button or check box by its value too).
  function fields(form) {
    var seen = {};
    var found = [];
    Array.prototype.forEach.call(form.elements, function (el) {
      if (!el.name || !/^(INPUT|TEXTAREA|SELECT)$/.test(el.tagName) ||
          NOT_TYPED.indexOf(el.type) >= 0) {
        return;
      }
      var name = el.type === "radio" || el.type === "checkbox" ? el.name + "=" + el.value
                                                               : el.name;
      seen[name] = (seen[name] || 0) + 1;
      found.push({ key: name + "#" + seen[name], el: el });
    });
    return found;
  }

  function valueOf(el) {
    if (el.type === "radio" || el.type === "checkbox") {
      return el.checked;
    }
    if (el.multiple) {
      return Array.prototype.filter.call(el.options, function (o) { return o.selected; })
        .map(function (o) { return o.value; });
    }
    return el.value;
  }

  function put(el, value) {
    if (el.type === "radio" || el.type === "checkbox") {
      el.checked = value === true;
    } else if (el.multiple && Array.isArray(value)) {
      Array.prototype.forEach.call(el.options, function (o) {
        o.selected = value.indexOf(o.value) >= 0;
      });
    } else if (typeof value === "string") {
      el.value = value;
    } else {
      return;
    }
    el.dispatchEvent(new Event("input", { bubbles: true }));
    el.dispatchEvent(new Event("change", { bubbles: true }));
  }

  function keep(event) {
    var store = storage();
    var back = event.target.querySelector("input[name=next]");
    if (!store || !back) {
      return;
    }
    var typed = {};
    var any = false;
    forms().forEach(function (entry) {
      var values = {};
      fields(entry.form).forEach(function (field) {
        values[field.key] = valueOf(field.el);
        any = true;
      });
      typed[entry.key] = values;
    });
    if (any) {
      try {
        store.setItem(PREFIX + back.value, JSON.stringify({ at: Date.now(), forms: typed }));
      } catch (error) {
        // full, or refused: the switch still works, without the text
      }
    }
  }

  function restore() {
    var store = storage();
    if (!store) {
      return;
    }
    var key = PREFIX + location.pathname + location.search;
    var kept = null;
    try {
      kept = JSON.parse(store.getItem(key));
    } catch (error) {
      kept = null;
    }
    store.removeItem(key);
    if (!kept || !kept.forms || Date.now() - kept.at > KEEP_FOR) {
      return;
    }
    forms().forEach(function (entry) {
      var values = kept.forms[entry.key];
      if (values) {
        fields(entry.form).forEach(function (field) {
          if (Object.prototype.hasOwnProperty.call(values, field.key)) {
            put(field.el, values[field.key]);
          }
        });
      }
    });
  }

  document.querySelectorAll("form.lang-switch").forEach(function (form) {
    form.addEventListener("submit", keep);
  });
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", restore);
  } else {
    restore();
  }
})();
