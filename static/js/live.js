/* Live notices: the bell's count, and a butler's queue, kept up to date without a reload.
 *
 * Polling with an ETag, not server-sent events: gunicorn runs sync workers, and an open event
 * stream would hold a whole worker for every open tab. GET /notices/unread answers
 * {"unread": n, "latest": id} from one indexed query, and a poll that finds nothing new is a 304
 * with no body. It polls every few seconds only while the tab is visible, and at once when the
 * tab is shown again. When the newest notice changes on a page with a live list (the queue,
 * its parts marked [data-live]), the page is fetched again as it is addressed (its filters are in
 * the URL) and those parts alone are put in place: the scroll and the filters stay.
 */
(function () {
  "use strict";

  var INTERVAL = 4000;
  var bell = document.querySelector("[data-bell]");
  if (!bell || !window.fetch) {
    return;
  }
  var count = bell.querySelector("[data-unread]");
  var latest = bell.dataset.latest || "";
  var etag = null;
  var timer = null;
  var stopped = false;

  function show(unread) {
    count.textContent = String(unread);
    count.hidden = unread === 0;
    bell.classList.toggle("has-unread", unread > 0);
  }

  function refreshList() {
    var parts = document.querySelectorAll("[data-live]");
    if (!parts.length) {
      return Promise.resolve();
    }
    return fetch(window.location.href, {credentials: "same-origin"})
      .then(function (response) { return response.ok ? response.text() : null; })
      .then(function (html) {
        if (!html) {
          return;
        }
        var page = new DOMParser().parseFromString(html, "text/html");
        parts.forEach(function (part) {
          var fresh = page.querySelector('[data-live="' + part.dataset.live + '"]');
          if (fresh) {
            part.replaceWith(document.importNode(fresh, true));
          }
        });
      });
  }

  function poll() {
    var headers = etag ? {"If-None-Match": etag} : {};
    return fetch(bell.dataset.unreadUrl, {credentials: "same-origin", headers: headers})
      .then(function (response) {
        if (response.status === 401) {
          loggedOut();
          return null;
        }
        if (response.status !== 200) {
          return null;  // 304: nothing new; anything else: try again at the next poll
        }
        etag = response.headers.get("ETag");
        return response.json();
      })
      .then(function (answer) {
        if (!answer) {
          return null;
        }
        show(answer.unread);
        var newest = answer.latest === null ? "" : String(answer.latest);
        if (newest === latest) {
          return null;
        }
        latest = newest;
        return refreshList();
      })
      .catch(function () { /* offline for a moment: the next poll tries again */ });
  }

  // The login ended (logged out in another tab, deactivated): say so where it is seen, link to
  // the login, and stop polling: a queue that silently stops updating would be trusted.
  function loggedOut() {
    stopped = true;
    if (document.querySelector("[data-logged-out-alert]")) {
      return;
    }
    var alert = document.createElement("p");
    alert.className = "flash error";
    alert.setAttribute("role", "alert");
    alert.setAttribute("data-logged-out-alert", "");
    var link = document.createElement("a");
    link.href = bell.dataset.loginUrl;
    link.textContent = bell.dataset.loggedOut;
    alert.appendChild(link);
    var main = document.querySelector("main");
    main.insertBefore(alert, main.firstChild);
  }

  function schedule() {
    window.clearTimeout(timer);
    if (!stopped && document.visibilityState === "visible") {
      timer = window.setTimeout(function () { poll().then(schedule); }, INTERVAL);
    }
  }

  document.addEventListener("visibilitychange", function () {
    if (!stopped && document.visibilityState === "visible") {
      poll().then(schedule);
    } else {
      window.clearTimeout(timer);
    }
  });
  schedule();
})();
