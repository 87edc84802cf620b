// Conversations on a page: comments and messages written elsewhere appear as they are
// written (from the page's events stream, see live.js), and typing @ in a comment box
// offers the people who can see the conversation. Without this script every form still
// works; a reload shows what is new.
"use strict";
(function () {
  // Team chat: the channel list's unread counts follow messages and reads live.
  const badge = (channel) => document.querySelector(`nav.channels li[data-channel="${CSS.escape(channel)}"] .count`);
  const setCount = (el, n) => {
    if (!el) return;
    el.textContent = String(n);
    el.hidden = n <= 0;
    el.setAttribute("aria-label", `${n} unread`);
  };
  document.addEventListener("tasksession:event", (e) => {
    const event = e.detail;
    if (!event || !event.data || !event.data.channel) return;
    const room = document.querySelector("section.chat-room");
    const here = room && room.dataset.channel === event.data.channel;
    if (event.kind === "chat.message" && !here) {
      const el = badge(event.data.channel);
      if (el) setCount(el, (parseInt(el.textContent, 10) || 0) + 1);
    } else if (event.kind === "chat.read") {
      setCount(badge(event.data.channel), event.data.unread || 0);
    }
  });

  const section = document.querySelector("section.thread");
  if (!section) return;
  const project = section.dataset.project;
  const thread = section.dataset.thread;
  const item = section.dataset.item || "";
  const channel = section.dataset.channel || "";
  const list = section.querySelector("ol.comments");

  // --- Live: new, changed and removed comments of this thread --------------------------
  const ours = (event) =>
    thread === "chat"
      ? event.kind === "chat.message" && event.data && event.data.channel === channel
      : event.project === project && event.data && event.data.thread === thread &&
        (thread === "messages" || event.data.item === item);
  // An open channel reads what arrives in it.
  const read = (id) => {
    if (thread !== "chat" || document.hidden) return;
    fetch(`/api/v1/chat/channels/${encodeURIComponent(channel)}/read`, {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", Accept: "application/json" },
      body: JSON.stringify({ up_to: id }),
    }).catch(() => {});
  };
  const bodyOf = (event) => {
    const body = document.createElement("div");
    body.className = "body";
    // The server rendered and sanitised this HTML (the same as the page's own).
    body.innerHTML = event.data.html || "";
    return body;
  };
  document.addEventListener("tasksession:event", (e) => {
    const event = e.detail;
    if (!event || !ours(event) || !list) return;
    const id = `${thread === "chat" ? "message" : "comment"}-${event.subject}`;
    const existing = document.getElementById(id);
    if (/\.added$/.test(event.kind) || event.kind === "chat.message") {
      if (existing) return;
      const li = document.createElement("li");
      li.className = "comment fresh";
      li.id = id;
      li.dataset.comment = event.subject;
      const meta = document.createElement("p");
      meta.className = "meta";
      const who = document.createElement("strong");
      who.textContent = event.data.author_name || event.actor.name || "Someone";
      meta.append(who, " · just now");
      li.append(meta, bodyOf(event));
      list.append(li);
      const empty = section.querySelector("p.empty");
      if (empty) empty.remove();
      read(event.subject);
    } else if (/\.changed$/.test(event.kind) && existing) {
      const old = existing.querySelector("div.body");
      if (old) old.replaceWith(bodyOf(event));
    } else if (/\.removed$/.test(event.kind) && existing) {
      existing.querySelectorAll("div.body, ul.attachments, div.actions").forEach((n) => n.remove());
      const gone = document.createElement("p");
      gone.className = "hint removed";
      gone.textContent = "Comment removed.";
      existing.append(gone);
    }
  });

  // --- Mentions: @ completes to who can see the conversation (or is in the channel) ----
  const box = section.querySelector("textarea[data-mentions]");
  if (!box || !window.fetch) return;
  const menu = document.createElement("ul");
  menu.className = "mentions";
  menu.id = "mention-menu";
  menu.setAttribute("role", "listbox");
  menu.setAttribute("aria-label", "People to mention");
  menu.hidden = true;
  box.after(menu);
  box.setAttribute("aria-controls", menu.id);
  box.setAttribute("aria-autocomplete", "list");
  let choices = [];
  let active = -1;
  let asked = 0;
  const wordAtCaret = () => {
    const before = box.value.slice(0, box.selectionStart);
    const match = /(^|[\s(])@([^\s@]{0,40})$/.exec(before);
    return match ? { start: before.length - match[2].length - 1, q: match[2] } : null;
  };
  const close = () => {
    menu.hidden = true;
    menu.textContent = "";
    choices = [];
    active = -1;
    box.removeAttribute("aria-activedescendant");
  };
  const show = () => {
    menu.textContent = "";
    choices.forEach((person, i) => {
      const option = document.createElement("li");
      option.id = `mention-${i}`;
      option.setAttribute("role", "option");
      option.setAttribute("aria-selected", i === active ? "true" : "false");
      option.textContent = person.kind === "client" ? `${person.name} (client)` : person.name;
      option.addEventListener("mousedown", (e) => { e.preventDefault(); pick(i); });
      menu.append(option);
    });
    menu.hidden = choices.length === 0;
    if (active >= 0) box.setAttribute("aria-activedescendant", `mention-${active}`);
  };
  const pick = (i) => {
    const word = wordAtCaret();
    const person = choices[i];
    if (!word || !person) return close();
    const text = `${person.mention} `;
    box.value = box.value.slice(0, word.start) + text + box.value.slice(box.selectionStart);
    const caret = word.start + text.length;
    box.setSelectionRange(caret, caret);
    close();
    box.focus();
  };
  box.addEventListener("input", async () => {
    const word = wordAtCaret();
    if (!word) return close();
    const mine = ++asked;
    // In a chat channel its members; in a project's thread whoever sees it.
    const query = thread === "chat" ? new URLSearchParams({ q: word.q }) : new URLSearchParams({ thread, q: word.q });
    if (item && thread !== "chat") query.set("item", item);
    const url = thread === "chat"
      ? `/api/v1/chat/channels/${encodeURIComponent(channel)}/mentionable?${query}`
      : `/api/v1/projects/${encodeURIComponent(project)}/mentionable?${query}`;
    try {
      const answer = await fetch(url, {
        credentials: "same-origin",
        headers: { Accept: "application/json" },
      });
      if (!answer.ok || mine !== asked) return;
      choices = (await answer.json()).items || [];
      active = choices.length ? 0 : -1;
      show();
    } catch (_) {
      close();
    }
  });
  box.addEventListener("keydown", (e) => {
    if (menu.hidden) return;
    if (e.key === "ArrowDown" || e.key === "ArrowUp") {
      e.preventDefault();
      const step = e.key === "ArrowDown" ? 1 : -1;
      active = (active + step + choices.length) % choices.length;
      show();
    } else if (e.key === "Enter" || e.key === "Tab") {
      if (active >= 0) { e.preventDefault(); pick(active); }
    } else if (e.key === "Escape") {
      e.preventDefault();
      close();
    }
  });
  box.addEventListener("blur", () => setTimeout(close, 150));
})();
