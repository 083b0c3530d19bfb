// The player's side of a ctfdeck challenge: Start / Extend / Reset / Stop, the connection strings,
// and a countdown that warns at 10 and 2 minutes left. Every answer comes from the plugin's routes
// (/api/v1/ctfdeck/instances/<id>), which act for the player's team.
CTFd._internal.challenge.data = undefined;
CTFd._internal.challenge.renderer = null;
CTFd._internal.challenge.preRender = function () {};
CTFd._internal.challenge.render = null;

// The core theme reports each attempt through this hook (older themes call `submit` below):
// chained, once, so that an open panel asks again after a submission.
(function () {
  const hooks = CTFd._functions && CTFd._functions.challenge;
  if (!hooks || (hooks.displaySubmissionResponse && hooks.displaySubmissionResponse.ctfdeck)) return;
  const previous = hooks.displaySubmissionResponse;
  const hook = function (response) {
    if (previous) previous(response);
    document.dispatchEvent(new Event("ctfdeck-submitted"));
  };
  hook.ctfdeck = true;
  hooks.displaySubmissionResponse = hook;
})();

// Loaded again each time a challenge opens: nothing at the top level but these assignments.
CTFd._internal.challenge.postRender = function () {
  // The theme draws the window's HTML on its next tick, after this runs: wait for the panel.
  let tries = 0;
  (function find() {
    const panel = document.getElementById("ctfdeck-panel");
    if (panel && !panel.dataset.wired) {
      panel.dataset.wired = "yes";
      ctfdeckPanel(panel);
    } else if (tries++ < 100) {
      setTimeout(find, 50);
    }
  })();
};

function ctfdeckPanel(panel) {
  const WARN_AT = [600, 120];
  const $ = (selector) => panel.querySelector(selector);
  const url = `/api/v1/ctfdeck/instances/${panel.dataset.challengeId}`;
  const buttons = {
    start: $(".ctfdeck-start"),
    extend: $(".ctfdeck-extend"),
    reset: $(".ctfdeck-reset"),
    stop: $(".ctfdeck-stop"),
  };
  let instance = null;
  // A place in ctfdeck's spawn queue while the event is full: {position, estimate_seconds}.
  let queued = null;
  let expiresAt = null;
  let warned = new Set();
  let busy = false;
  let blockedUntil = 0;
  let blockedReason = "";
  let lastRefresh = 0;

  function show(element, text) {
    element.textContent = text || "";
    element.hidden = !text;
  }

  function minutes(seconds) {
    const m = Math.floor(seconds / 60);
    const s = seconds % 60;
    return `${m}:${String(s).padStart(2, "0")}`;
  }

  function secondsLeft() {
    return expiresAt === null ? null : Math.max(0, Math.round((expiresAt - Date.now()) / 1000));
  }

  function draw() {
    // For scripts and tests that drive the window: whether a request is in flight.
    panel.dataset.busy = busy ? "yes" : "";
    const running = instance !== null;
    const now = Date.now();
    const blocked = now < blockedUntil;
    $(".ctfdeck-state").textContent = running
      ? `Status: ${instance.status}`
      : queued
      ? `The event is full: you are number ${queued.position} in the queue.` +
        (queued.estimate_seconds !== null && queued.estimate_seconds !== undefined
          ? ` A slot should free in about ${Math.max(1, Math.ceil(queued.estimate_seconds / 60))} minute(s).`
          : "") +
        " Your instance starts by itself then."
      : "No instance running. Start one to get your own copy of this challenge.";
    const list = $(".ctfdeck-connection");
    list.innerHTML = "";
    for (const c of running ? instance.connection : []) {
      const item = document.createElement("li");
      const code = document.createElement("code");
      code.textContent = c;
      item.appendChild(code);
      list.appendChild(item);
    }
    const left = secondsLeft();
    show($(".ctfdeck-countdown"), running && left !== null ? `Time left: ${minutes(left)}` : "");
    const reasons = [];
    buttons.start.disabled = busy || running || blocked || queued !== null;
    if (!running && blocked) reasons.push(blockedReason);
    if (!running && queued) reasons.push("Stop leaves the queue.");
    buttons.extend.disabled = busy || !running || !instance.can_extend_now;
    if (running && !instance.can_extend_now && instance.extend_refusal) {
      reasons.push(`Extend: ${instance.extend_refusal}`);
    }
    buttons.reset.disabled = busy || !running;
    buttons.stop.disabled = busy || !(running || queued);
    $(".ctfdeck-reason").textContent = reasons.join(" ");
  }

  function tick() {
    if (!document.body.contains(panel)) {
      clearInterval(timer);
      return;
    }
    // Waiting in the queue or for the engine: ask again every 5 s until the instance runs.
    const waiting = queued !== null || (instance !== null && instance.status === "starting");
    if (waiting && !busy && Date.now() - lastRefresh > 5000) {
      refresh();
      return;
    }
    const left = secondsLeft();
    if (instance !== null && left !== null) {
      for (const mark of WARN_AT) {
        if (left <= mark && !warned.has(mark)) {
          warned.add(mark);
          show(
            $(".ctfdeck-warning"),
            `Less than ${mark / 60} minutes left on your instance` +
              (instance.can_extend_now ? ": extend it to keep working." : ".")
          );
        }
      }
      // Expired: ask again (at most every 10 s) until the reaper has stopped it.
      if (left === 0 && !busy && Date.now() - lastRefresh > 10000) {
        refresh();
        return;
      }
    }
    draw();
  }

  function take(data) {
    instance = data.instance;
    queued = data.queue || null;
    const seconds = instance ? instance.seconds_left : null;
    expiresAt = seconds === null || seconds === undefined ? null : Date.now() + seconds * 1000;
    // A mark already passed when the window opens warns at once, on the next tick.
    warned = new Set();
    show($(".ctfdeck-warning"), "");
  }

  function call(method, path) {
    busy = true;
    show($(".ctfdeck-error"), "");
    draw();
    return CTFd.fetch(url + (path || ""), { method: method })
      .then((r) => r.json().then((body) => ({ status: r.status, body: body, retry: r.headers.get("Retry-After") })))
      .then((r) => {
        if (r.body.success) {
          take(r.body.data);
        } else {
          const message = (r.body.error && r.body.error.message) || `HTTP ${r.status}`;
          show($(".ctfdeck-error"), message);
          if (r.status === 429 && r.retry) {
            blockedUntil = Date.now() + Number(r.retry) * 1000;
            blockedReason = `Start is possible again in about ${Math.ceil(Number(r.retry) / 60)} minute(s).`;
          }
        }
      })
      .catch(() => show($(".ctfdeck-error"), "The scoreboard did not answer; try again."))
      .finally(() => {
        busy = false;
        draw();
      });
  }

  function refresh() {
    lastRefresh = Date.now();
    return call("GET");
  }

  buttons.start.addEventListener("click", () => call("POST"));
  buttons.extend.addEventListener("click", () => call("PATCH"));
  buttons.reset.addEventListener("click", () => {
    if (confirm("Replace your instance with a fresh one? Its state and flag change.")) call("POST", "/reset");
  });
  buttons.stop.addEventListener("click", () => {
    const question = queued ? "Leave the queue?" : "Stop your instance? Everything in it is lost.";
    if (confirm(question)) call("DELETE");
  });
  const timer = setInterval(tick, 1000);
  // After a submission (a solve may stop the instance, see "stop on solve"), ask again.
  document.addEventListener("ctfdeck-submitted", function again() {
    if (document.body.contains(panel)) refresh();
    else document.removeEventListener("ctfdeck-submitted", again);
  });
  refresh();
}

CTFd._internal.challenge.submit = function (preview) {
  const challenge_id = parseInt(CTFd.lib.$("#challenge-id").val());
  const submission = CTFd.lib.$("#challenge-input").val();
  const params = {};
  if (preview) params["preview"] = true;
  return CTFd.api
    .post_challenge_attempt(params, { challenge_id: challenge_id, submission: submission })
    .then((response) => {
      document.dispatchEvent(new Event("ctfdeck-submitted"));
      return response;
    });
};
