/* Live countdowns for ButlerDesk's deadlines.
 *
 * Each <span data-countdown> carries the deadline's due time (data-due) and the server's time
 * when the page was made (data-now), both ISO 8601 in UTC, and the texts to show: data-left and
 * data-over with {time} where the time goes, and the time's own words by its size
 * (data-minutes-seconds, data-hours-minutes, data-days-hours, with {days} {hours} {minutes}
 * {seconds} where the numbers go: "36 min 05 s", "1 h 05 min", "2 d 3 h"). The time left is
 * due − (server's now + time since the countdown was first seen): the phone's own clock only measures
 * how long the page has been open, so a phone set to the wrong time still counts right.
 * The words are the server's (workflows/words.py, countdown). Without this script the text the
 * server rendered stays.
 */
(function () {
  "use strict";

  // When each countdown was first seen: the page's, at load; a queue list live.js put in
  // place later, when it came (its data-now is the time that list was made).
  var seen = new WeakMap();

  function pad(n) {
    return n < 10 ? "0" + n : String(n);
  }

  function fill(text, numbers) {
    return text.replace(/\{(\w+)\}/g, function (whole, name) {
      return name in numbers ? numbers[name] : whole;
    });
  }

  function format(seconds, words) {
    var days = Math.floor(seconds / 86400);
    var rest = seconds % 86400;
    var h = Math.floor(rest / 3600), m = Math.floor(rest / 60) % 60, s = rest % 60;
    if (days) {
      return fill(words.daysHours, {days: days, hours: h});
    }
    if (h) {
      return fill(words.hoursMinutes, {hours: h, minutes: pad(m)});
    }
    return fill(words.minutesSeconds, {minutes: m, seconds: pad(s)});
  }

  function update(el) {
    var due = Date.parse(el.dataset.due);
    var serverNow = Date.parse(el.dataset.now);
    if (isNaN(due) || isNaN(serverNow)) {
      return;
    }
    if (!seen.has(el)) {
      seen.set(el, Date.now());
    }
    var left = (due - serverNow - (Date.now() - seen.get(el))) / 1000;
    var overdue = left <= 0;
    var seconds = Math.floor(Math.abs(left));
    var template = overdue ? el.dataset.over : el.dataset.left;
    var text = template.replace("{time}", format(seconds, el.dataset));
    if (el.textContent !== text) {
      el.textContent = text;
    }
    el.classList.toggle("overdue", overdue);
    if (overdue) {  // the step passed its due time while the page was open
      var step = el.closest(".step");
      var row = el.closest("[data-ticket]");
      if (step) step.classList.add("overdue");
      if (row) row.classList.add("is-overdue");
    }
  }

  function tick() {
    document.querySelectorAll("[data-countdown]").forEach(update);
  }

  function start() {
    tick();
    window.setInterval(tick, 1000);
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
