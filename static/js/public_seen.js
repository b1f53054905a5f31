// Tells the server that a person has the invoice on screen: the page's own GET does not, because
// mail scanners fetch every link in an e-mail and would all count as "viewed by the customer".
// Sent once, after the page has been visible for a moment (a scanner rarely stays that long).
(() => {
  const holder = document.querySelector("[data-seen-url]");
  if (!holder) return;
  const url = holder.dataset.seenUrl;
  const body = new URLSearchParams({ ticket: holder.dataset.seenTicket || "" });
  let sent = false;
  let timer = null;
  const send = () => {
    if (sent) return;
    sent = true;
    fetch(url, { method: "POST", body, keepalive: true, credentials: "same-origin" }).catch(() => { sent = false; });
  };
  const watch = () => {
    window.clearTimeout(timer);
    if (document.visibilityState === "visible") timer = window.setTimeout(send, 1000);
  };
  document.addEventListener("visibilitychange", watch);
  watch();
})();
