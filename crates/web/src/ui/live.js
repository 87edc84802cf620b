// Live updates for every signed-in page: one events stream per page (resumed after the
// newest event the page was made with), passed on to the page's other scripts as
// "tasksession:event" on the document, and the bell's unread count kept up to date.
"use strict";
(function () {
  if (!window.EventSource || !document.body.dataset.eventsAfter) return;
  const bell = document.querySelector("a.bell");
  const count = bell && bell.querySelector(".count");
  const setUnread = (n) => {
    if (!bell || !count) return;
    count.textContent = n > 0 ? String(n) : "";
    count.hidden = n <= 0;
    bell.setAttribute("aria-label", n === 1 ? "Notifications, 1 unread" : `Notifications, ${n} unread`);
  };
  const after = document.body.dataset.eventsAfter;
  const stream = new EventSource(`/api/v1/events?after=${encodeURIComponent(after)}`);
  stream.onmessage = (message) => {
    let event;
    try { event = JSON.parse(message.data); } catch (_) { return; }
    if (event.kind === "notification" && bell) {
      setUnread((parseInt(count.textContent, 10) || 0) + 1);
      const news = document.getElementById("bell-news");
      if (news && event.data && event.data.sentence) news.textContent = event.data.sentence;
    }
    document.dispatchEvent(new CustomEvent("tasksession:event", { detail: event }));
  };
  window.addEventListener("pagehide", () => stream.close());
})();
