// The waiting-room TV. The board arrives over server-sent events, rendered on the server;
// each call is announced in turn (chime, then the spoken sentence), never one over another.
"use strict";
(function () {
  const body = document.body;
  const MAX_QUEUED = 10;       // as the terminal display: older announcements are stale
  const STALLED_MS = 90000;    // the server sends a clock event every minute
  const SOUND_MS = 60000;      // a sound that never ends must not stop the queue for good
  const LOST_MS = 3000;        // a dropped stream that is back within this (a proxy's idle
                               // timeout, the server's retry of 2 s) shows no "one moment"
  let clockOffset = 0;         // the server's clock minus the browser's, in ms
  let officeOffset = 0;        // the office's offset from UTC, in minutes
  let freshUntil = 0;
  let source = null;
  let lastMessage = Date.now();
  let lostTimer = null;
  const queue = [];
  let playing = false;
  let blocked = false;

  // For tests and for staff at the browser's console: what was queued and what was played.
  window.loketAnnounced = [];
  window.loketPlayed = [];
  window.loketBoards = 0;  // boards received over the event stream

  function setClock(data) {
    if (typeof data.now_ms === "number") {
      clockOffset = data.now_ms - Date.now();
      officeOffset = data.offset_minutes;
    }
  }

  function showClock() {
    const clock = document.getElementById("clock");
    if (!clock) return;
    const now = new Date(Date.now() + clockOffset + officeOffset * 60000);
    const pad = (n) => String(n).padStart(2, "0");
    clock.textContent = pad(now.getUTCHours()) + ":" + pad(now.getUTCMinutes());
  }

  function showFresh() {
    const now = document.getElementById("now");
    if (now) now.classList.toggle("fresh", Date.now() < freshUntil);
  }

  function showBoard(data) {
    window.loketBoards += 1;
    setClock(data);
    document.getElementById("board").innerHTML = data.html;
    body.classList.remove("unavailable");
    if (data.highlight_seconds > 0) {
      freshUntil = Date.now() + data.highlight_seconds * 1000;
      setTimeout(showFresh, data.highlight_seconds * 1000 + 50);
    }
    showFresh();
    showClock();
    data.announce.forEach(announce);
  }

  function announce(item) {
    window.loketAnnounced.push(item);
    queue.push(item);
    while (queue.length > MAX_QUEUED) queue.shift();
    playNext();
  }

  async function playNext() {
    if (playing || blocked || queue.length === 0) return;
    playing = true;
    const item = queue[0];
    try {
      await play(body.dataset.chime);
      if (item.audio) await play(item.audio);
      queue.shift();
    } catch (error) {
      // The browser will not play sound before someone touched the page (autoplay policy):
      // keep the queue and show the button; a kiosk browser is started with
      // --autoplay-policy=no-user-gesture-required so that this never shows.
      blocked = true;
      document.getElementById("sound").hidden = false;
    } finally {
      playing = false;
    }
    playNext();
  }

  function play(url) {
    return new Promise((resolve, reject) => {
      const sound = new Audio(url);
      const done = () => { clearTimeout(timer); window.loketPlayed.push(url); resolve(); };
      const timer = setTimeout(done, SOUND_MS);
      sound.addEventListener("ended", done);
      sound.addEventListener("error", done);  // no voice on the server: the chime alone
      sound.play().catch((error) => {
        clearTimeout(timer);
        if (error.name === "NotAllowedError") reject(error); else done();
      });
    });
  }

  function unavailable() {
    body.classList.add("unavailable");
  }

  function lost() {
    // "One moment" only if the stream is still not back after LOST_MS.
    if (lostTimer !== null) return;
    lostTimer = setTimeout(() => {
      lostTimer = null;
      if (source.readyState !== EventSource.OPEN) unavailable();
    }, LOST_MS);
  }

  function connect() {
    lastMessage = Date.now();
    source = new EventSource(body.dataset.events);
    source.addEventListener("board", (event) => {
      lastMessage = Date.now();
      showBoard(JSON.parse(event.data));
    });
    source.addEventListener("clock", (event) => {
      lastMessage = Date.now();
      setClock(JSON.parse(event.data));
    });
    source.addEventListener("unavailable", () => {
      lastMessage = Date.now();
      unavailable();
    });
    source.addEventListener("error", () => {
      // The server is gone: never a stale screen for long. EventSource reconnects by itself,
      // except after an answer that is not an event stream (a proxy's error page): anew then.
      lost();
      if (source.readyState === EventSource.CLOSED) setTimeout(reconnect, 5000);
    });
  }

  function reconnect() {
    source.close();
    connect();
  }

  document.getElementById("sound").addEventListener("click", () => {
    blocked = false;
    document.getElementById("sound").hidden = true;
    playNext();
  });
  setInterval(() => {
    showClock();
    if (Date.now() - lastMessage > STALLED_MS) reconnect();  // a connection silently dead
  }, 1000);
  connect();
})();
