// Follows a running task's log over server-sent events; without this script the page refreshes itself instead.
(function () {
  "use strict";
  var log = document.getElementById("task-live");
  if (!log || !window.EventSource) { return; }
  var source = new EventSource(log.getAttribute("data-events"));
  source.addEventListener("line", function (event) {
    var line = JSON.parse(event.data);
    var item = document.createElement("li");
    item.className = "log-" + line.kind;
    item.textContent = line.message;
    log.appendChild(item);
  });
  source.addEventListener("end", function () {
    source.close();
    window.location.reload();
  });
})();
