// The console's only script: pages that show live state (body[data-refresh-seconds]) fetch
// themselves again every few seconds and swap in their #live part. No inline script is
// allowed (Content-Security-Policy), and nothing is fetched from anywhere but this origin.
(function () {
  "use strict";
  // Times come as UTC to the second; shown in the viewer's own zone, the whole value on hover.
  function localTimes(root) {
    var times = root.querySelectorAll("time[datetime]");
    for (var i = 0; i < times.length; i++) {
      var moment = new Date(times[i].getAttribute("datetime"));
      if (!isNaN(moment.getTime())) {
        times[i].textContent = moment.toLocaleString(undefined, {
          year: "numeric", month: "2-digit", day: "2-digit",
          hour: "2-digit", minute: "2-digit", second: "2-digit",
          hour12: false, timeZoneName: "short"
        });
      }
    }
  }
  localTimes(document);
  var body = document.body;
  var seconds = Number(body && body.getAttribute("data-refresh-seconds"));
  if (!seconds) {
    return;
  }
  function busy() {
    // Never swap the page under someone who is typing or reading a data block.
    var active = document.activeElement;
    if (active && (active.tagName === "INPUT" || active.tagName === "TEXTAREA")) {
      return true;
    }
    return document.querySelector("#live details[open]") !== null;
  }
  function refresh() {
    if (document.hidden || busy()) {
      return;
    }
    fetch(window.location.href, { credentials: "same-origin", cache: "no-store" })
      .then(function (answer) {
        if (answer.redirected || answer.status === 401 || answer.status === 403) {
          // The session ended: show the sign-in form.
          window.location.reload();
          return null;
        }
        return answer.ok ? answer.text() : null;
      })
      .then(function (text) {
        if (text === null) {
          return;
        }
        var fresh = new DOMParser().parseFromString(text, "text/html").getElementById("live");
        var current = document.getElementById("live");
        if (fresh && current) {
          var swapped = document.importNode(fresh, true);
          localTimes(swapped);
          current.replaceWith(swapped);
        }
      })
      .catch(function () {
        // The service is restarting or the network is down: the next round tries again.
      });
  }
  window.setInterval(refresh, seconds * 1000);
})();
