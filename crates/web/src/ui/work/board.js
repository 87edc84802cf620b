// The board, live and by hand. Without this script the board works with its arrow buttons
// and a reload per move; with it:
// - cards are dragged between and within columns (mouse, pen, or a long press on touch),
// - a focused card is moved with the keyboard: Space picks it up, the arrow keys move it,
//   Space or Enter drops it, Escape puts it back; each step is announced to screen readers,
// - a move shows at once and is undone, with the server's reason, if the server refuses it,
// - what others change on the project appears without a reload (the events stream,
//   which live.js opens for every signed-in page).
"use strict";
(function () {
  const board = document.querySelector(".board[data-project]");
  if (!board) return;
  const project = board.dataset.project;
  const canMove = board.dataset.moves === "true";
  const status = document.getElementById("board-status");
  const problem = document.getElementById("board-problem");

  const say = (text) => { if (status) status.textContent = text; };
  const complain = (text) => {
    if (problem) { problem.textContent = text; problem.hidden = !text; }
    say(text);
  };

  const columns = () => Array.from(board.querySelectorAll("section.column[data-status]"));
  const cardsOf = (column) => Array.from(column.querySelectorAll("article.task[data-task]"));
  const columnName = (column) => {
    const heading = column.querySelector("h3");
    return heading ? heading.firstChild.textContent.trim() : column.dataset.status;
  };
  const placeOf = (card) => {
    const column = card.closest("section.column");
    const cards = cardsOf(column);
    return { column, index: cards.indexOf(card), count: cards.length };
  };
  const describe = (card) => {
    const place = placeOf(card);
    return `${card.dataset.title}: ${columnName(place.column)}, ${place.index + 1} of ${place.count}`;
  };
  // Column counts and "Nothing here." follow the cards.
  const recount = () => {
    for (const column of columns()) {
      const count = cardsOf(column).length;
      const hint = column.querySelector("h3 .hint");
      if (hint) hint.textContent = `(${count})`;
      const empty = column.querySelector("p.empty");
      if (empty) empty.hidden = count > 0;
    }
  };
  // Puts `card` into `column` before its `index`th card (the end when past it).
  const put = (card, column, index) => {
    const others = cardsOf(column).filter((c) => c !== card);
    const before = others[index] || null;
    if (before) column.insertBefore(card, before);
    else column.appendChild(card);
    recount();
  };

  let busy = 0;          // moves on their way to the server
  let refreshWanted = false;
  let dragging = null;   // the card being dragged or carried with the keyboard

  // Sends a move; on refusal the card goes back to where it was, with the reason.
  const send = async (card, from) => {
    const to = placeOf(card);
    if (to.column === from.column && to.index === from.index) return;
    busy += 1;
    complain("");
    try {
      const answer = await fetch(`/api/v1/projects/${project}/tasks/${card.dataset.task}`, {
        method: "PATCH",
        headers: { "Content-Type": "application/json", Accept: "application/json" },
        credentials: "same-origin",
        body: JSON.stringify({ status: to.column.dataset.status, position: to.index }),
      });
      if (!answer.ok) {
        let reason = `The move was refused (${answer.status}).`;
        try {
          const body = await answer.json();
          if (body && body.error && body.error.message) reason = body.error.message;
        } catch (_) { /* not JSON: keep the status */ }
        put(card, from.column, from.index);
        complain(`${card.dataset.title} was put back: ${reason}`);
        card.focus();
      } else {
        say(`Moved. ${describe(card)}.`);
      }
    } catch (_) {
      put(card, from.column, from.index);
      complain(`${card.dataset.title} was put back: the server could not be reached.`);
    } finally {
      busy -= 1;
      if (busy === 0 && refreshWanted) refresh();
    }
  };

  if (canMove) {
    // Pointer dragging: mouse and pen after a few pixels, touch after a long press.
    let pending = null;
    const begin = (card, event) => {
      dragging = card;
      card.classList.add("dragging");
      pending.from = placeOf(card);
      try { card.setPointerCapture(event.pointerId); } catch (_) { /* gone already */ }
    };
    board.addEventListener("pointerdown", (event) => {
      const card = event.target.closest("article.task[data-task]");
      if (!card || event.button !== 0 || event.target.closest("button, form")) return;
      pending = { card, x: event.clientX, y: event.clientY, timer: null, moved: false, from: null };
      if (event.pointerType === "touch") {
        pending.timer = setTimeout(() => { if (pending) begin(card, event); }, 300);
      }
    });
    // While a card is held the pointer may leave the board: the document follows it.
    document.addEventListener("pointermove", (event) => {
      if (!pending) return;
      const far = Math.abs(event.clientX - pending.x) + Math.abs(event.clientY - pending.y);
      if (!dragging) {
        if (event.pointerType === "touch") {
          if (far > 8) { clearTimeout(pending.timer); pending = null; }
          return;
        }
        if (far < 6) return;
        begin(pending.card, event);
      }
      pending.moved = true;
      // The column is the one under the pointer's left-right place, wherever it is up
      // or down (a column is as tall as its cards; the pointer may be below it).
      const column = columns().find((c) => {
        const box = c.getBoundingClientRect();
        return event.clientX >= box.left && event.clientX <= box.right;
      });
      if (!column) return;
      const others = cardsOf(column).filter((c) => c !== dragging);
      let index = others.length;
      for (let i = 0; i < others.length; i += 1) {
        const box = others[i].getBoundingClientRect();
        if (event.clientY < box.top + box.height / 2) { index = i; break; }
      }
      put(dragging, column, index);
    });
    const finish = (event, cancelled) => {
      if (!pending) return;
      clearTimeout(pending.timer);
      const card = dragging;
      const { from, moved } = pending;
      pending = null;
      dragging = null;
      if (!card) return;
      card.classList.remove("dragging");
      if (moved) {
        // The click that ends a drag does not follow the card's link.
        card.addEventListener("click", (e) => e.preventDefault(), { capture: true, once: true });
      }
      if (cancelled) { put(card, from.column, from.index); return; }
      send(card, from);
    };
    document.addEventListener("pointerup", (event) => finish(event, false));
    document.addEventListener("pointercancel", (event) => finish(event, true));
    document.addEventListener("touchmove", (event) => { if (dragging) event.preventDefault(); }, { passive: false });

    // Keyboard: pick up, move, drop.
    let carried = null;
    board.addEventListener("keydown", (event) => {
      const card = event.target.closest && event.target.closest("article.task[data-task]");
      if (!card || event.target !== card) return;
      if (!carried) {
        if (event.key === " " || event.key === "Spacebar") {
          event.preventDefault();
          carried = { card, from: placeOf(card) };
          dragging = card;
          card.classList.add("dragging");
          card.setAttribute("aria-grabbed", "true");
          say(`Picked up ${describe(card)}. Arrow keys move it, Space drops it, Escape puts it back.`);
        }
        return;
      }
      const here = placeOf(card);
      const all = columns();
      const at = all.indexOf(here.column);
      let moved = true;
      switch (event.key) {
        case "ArrowLeft": if (at > 0) put(card, all[at - 1], here.index); else moved = false; break;
        case "ArrowRight": if (at + 1 < all.length) put(card, all[at + 1], here.index); else moved = false; break;
        case "ArrowUp": if (here.index > 0) put(card, here.column, here.index - 1); else moved = false; break;
        case "ArrowDown": if (here.index + 1 < here.count) put(card, here.column, here.index + 1); else moved = false; break;
        case " ": case "Spacebar": case "Enter": case "Escape": {
          event.preventDefault();
          const { from } = carried;
          carried = null;
          dragging = null;
          card.classList.remove("dragging");
          card.removeAttribute("aria-grabbed");
          if (event.key === "Escape") {
            put(card, from.column, from.index);
            say(`Put back. ${describe(card)}.`);
          } else {
            say(`Dropped. ${describe(card)}.`);
            send(card, from);
          }
          card.focus();
          return;
        }
        default: return;
      }
      event.preventDefault();
      card.focus();
      say(moved ? describe(card) : `${describe(card)}. It cannot go further that way.`);
    });
  }

  // Live: what others change arrives on the events stream; the board is read again.
  let timer = null;
  const refresh = async () => {
    if (dragging || busy > 0) { refreshWanted = true; return; }
    refreshWanted = false;
    try {
      const answer = await fetch(window.location.pathname, { credentials: "same-origin", headers: { Accept: "text/html" } });
      if (!answer.ok) return;
      const page = new DOMParser().parseFromString(await answer.text(), "text/html");
      const fresh = page.querySelector(".board[data-project]");
      if (!fresh || dragging || busy > 0) { refreshWanted = true; return; }
      const focused = document.activeElement && document.activeElement.closest
        ? document.activeElement.closest("article.task[data-task]") : null;
      const keep = focused ? focused.dataset.task : null;
      board.innerHTML = fresh.innerHTML;
      if (keep) {
        const again = board.querySelector(`article.task[data-task="${CSS.escape(keep)}"]`);
        if (again) again.focus();
      }
    } catch (_) { /* the next event tries again */ }
  };
  const soon = () => { clearTimeout(timer); timer = setTimeout(refresh, 150); };
  // The page's one events stream (live.js) passes every event on.
  document.addEventListener("tasksession:event", (message) => {
    const event = message.detail;
    if (event && event.project === project && /^(task|project)\./.test(event.kind)) soon();
  });
})();
