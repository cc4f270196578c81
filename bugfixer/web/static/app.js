// Progressive enhancement: everything works without this file; with it, the fix streams
// in without a page reload, shows its progress, can be canceled, and copy buttons work.
(function () {
  "use strict";

  const numberFormat = new Intl.NumberFormat("en-US");
  const fmt = (n) => numberFormat.format(n);

  // -- copy buttons (hidden without JavaScript, since they cannot work then) ----------

  function showCopyButtons(root) {
    root.querySelectorAll("button[data-copy]").forEach((b) => { b.hidden = false; });
  }

  function copyText(button) {
    const source = document.getElementById(button.dataset.copy);
    if (!source) return;
    const text = "value" in source ? source.value : source.textContent;
    const label = button.dataset.label || (button.dataset.label = button.textContent);
    const done = (ok) => {
      button.textContent = ok ? "Copied" : "Press Ctrl+C";
      setTimeout(() => { button.textContent = label; }, 1500);
    };
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(text).then(() => done(true), () => done(fallbackCopy(source)));
    } else {
      done(fallbackCopy(source));
    }
  }

  function fallbackCopy(source) {
    const wasHidden = source.hidden;
    source.hidden = false;
    source.select();
    let ok = false;
    try { ok = document.execCommand("copy"); } catch (e) { ok = false; }
    source.hidden = wasHidden;
    return ok;
  }

  document.addEventListener("click", (event) => {
    const button = event.target.closest("button[data-copy]");
    if (button) copyText(button);
  });
  showCopyButtons(document);

  // -- explanation text as it streams: the same small subset explanation_html renders -

  const INLINE = /`([^`\n]+)`|\*\*([^*\n]+)\*\*/g;
  const HEADING = /^#{1,6}\s+/;
  const BULLET = /^\s*(?:[-*•]|\d+[.)])\s+/;
  const FENCE = /^\s*(`{3,}|~{3,})/;

  function appendInline(parent, text) {
    let last = 0;
    for (const m of text.matchAll(INLINE)) {
      parent.append(text.slice(last, m.index));
      const el = document.createElement(m[1] !== undefined ? "code" : "strong");
      el.textContent = m[1] !== undefined ? m[1] : m[2];
      parent.append(el);
      last = m.index + m[0].length;
    }
    parent.append(text.slice(last));
  }

  function renderProse(target, text) {
    const blocks = [];
    let para = [];
    let items = [];
    let fence = null;
    const flush = () => {
      if (para.length) {
        const p = document.createElement("p");
        para.forEach((line, i) => { if (i) p.append(document.createElement("br")); appendInline(p, line); });
        blocks.push(p);
        para = [];
      }
      if (items.length) {
        const ul = document.createElement("ul");
        items.forEach((item) => { const li = document.createElement("li"); appendInline(li, item); ul.append(li); });
        blocks.push(ul);
        items = [];
      }
    };
    const pushFence = () => {
      const pre = document.createElement("pre");
      pre.tabIndex = 0; // it may scroll sideways, so the keyboard must reach it
      const code = document.createElement("code");
      code.textContent = fence.join("\n");
      pre.append(code);
      blocks.push(pre);
    };
    for (const line of text.replace(/\r\n/g, "\n").split("\n")) {
      if (fence !== null) {
        if (FENCE.test(line)) { pushFence(); fence = null; } else { fence.push(line); }
      } else if (FENCE.test(line)) {
        flush(); fence = [];
      } else if (!line.trim()) {
        flush();
      } else if (HEADING.test(line)) {
        flush();
        const title = line.replace(HEADING, "").trim();
        if (title.replace(/:$/, "").toLowerCase() !== "explanation") {
          const p = document.createElement("p");
          p.className = "lead";
          appendInline(p, title);
          blocks.push(p);
        }
      } else if (BULLET.test(line)) {
        if (para.length) flush();
        items.push(line.replace(BULLET, "").trim());
      } else if (items.length && /^[ \t]/.test(line)) {
        items[items.length - 1] += " " + line.trim();
      } else {
        if (items.length) flush();
        para.push(line.trim());
      }
    }
    if (fence !== null) pushFence();
    flush();
    target.replaceChildren(...blocks);
  }

  // -- character counts and limits --------------------------------------------------

  const NAMES = { code: "Your code", error: "The error message", test: "Your test" };

  function checkLength(textarea) {
    const max = Number(textarea.dataset.max);
    if (!max) return true;
    const length = textarea.value.length;
    const count = document.getElementById(textarea.id + "-count");
    const message = document.getElementById(textarea.id + "-too-long");
    const over = length > max;
    if (count) {
      count.textContent = fmt(length) + " / " + fmt(max);
      count.classList.toggle("over", over);
    }
    textarea.classList.toggle("over", over);
    textarea.setAttribute("aria-invalid", over ? "true" : "false");
    const folded = textarea.closest("details");
    if (over && folded) folded.open = true;
    if (message) {
      const text = over
        ? NAMES[textarea.id] + " is " + fmt(length) + " characters; the limit is " + fmt(max) +
          ". Remove " + fmt(length - max) + " characters before fixing."
        : "";
      if (message.textContent !== text) message.textContent = text;
      message.hidden = !over;
    }
    return !over;
  }

  const form = document.getElementById("fix-form");
  if (!form) return;
  const limited = Array.from(form.querySelectorAll("textarea[data-max]"));
  limited.forEach((textarea) => {
    textarea.removeAttribute("maxlength"); // a silent cut is worse than a clear message
    textarea.addEventListener("input", () => checkLength(textarea));
    checkLength(textarea);
  });

  // -- submitting: Ctrl/Cmd+Enter, progress, cancel, the streamed result --------------

  const mac = /Mac|iPhone|iPad/.test(navigator.platform || navigator.userAgent);
  const shortcut = document.getElementById("shortcut");
  if (shortcut) {
    if (mac) shortcut.querySelector("kbd").textContent = "⌘";
    shortcut.hidden = false;
  }
  form.addEventListener("keydown", (event) => {
    if (event.key === "Enter" && (event.ctrlKey || event.metaKey)) {
      event.preventDefault();
      form.requestSubmit ? form.requestSubmit() : form.dispatchEvent(new Event("submit", { cancelable: true }));
    }
  });

  if (!window.fetch || !window.TextDecoder || !window.AbortController) return;

  const submit = document.getElementById("submit");
  const cancel = document.getElementById("cancel");
  const status = document.getElementById("fix-status");
  const region = document.getElementById("result");
  const working = document.getElementById("working");
  const elapsed = document.getElementById("elapsed");
  const workingText = document.getElementById("working-text");
  const draft = document.getElementById("draft");
  const body = document.getElementById("result-body");
  const alertBox = document.getElementById("form-error");
  const submitLabel = submit.textContent;

  let controller = null;
  let timer = null;
  let draftText = "";
  let renderPending = false;

  // "quiet" statuses are for screen readers only: the page already shows the news.
  function setStatus(text, quiet) {
    status.textContent = text;
    status.classList.toggle("sr-only", Boolean(quiet));
  }

  function setWorking(text) {
    workingText.textContent = text;
    setStatus(text, true);
  }

  function showError(message) {
    alertBox.textContent = message;
    alertBox.hidden = false;
  }

  function setBusy(busy) {
    submit.disabled = busy;
    submit.textContent = busy ? "Fixing…" : submitLabel;
    cancel.hidden = !busy;
    region.setAttribute("aria-busy", busy ? "true" : "false");
    working.hidden = !busy;
    clearInterval(timer);
    if (busy) {
      const started = Date.now();
      elapsed.textContent = "0 s";
      timer = setInterval(() => {
        elapsed.textContent = Math.floor((Date.now() - started) / 1000) + " s";
      }, 1000);
    }
  }

  function scheduleDraft() {
    if (renderPending) return;
    renderPending = true;
    requestAnimationFrame(() => {
      renderPending = false;
      renderProse(draft, draftText);
      draft.hidden = !draftText.trim();
      draft.scrollTop = draft.scrollHeight;
    });
  }

  function updateQuota(usage) {
    if (!usage || usage.remaining === null || usage.remaining === undefined) return;
    const remaining = document.getElementById("quota-remaining");
    if (remaining) remaining.textContent = usage.remaining;
    const note = document.getElementById("quota-note");
    if (!note) return;
    const link = document.createElement("a");
    link.href = "/pricing";
    if (usage.remaining === 1) {
      link.textContent = "see pricing";
      note.replaceChildren("This is your last free fix. After it, fixes need a plan (", link, ").");
    } else if (usage.remaining === 0) {
      link.textContent = "Choose a plan";
      note.replaceChildren("That was your last free fix. ", link, " to keep fixing.");
    }
    note.hidden = usage.remaining > 1;
  }

  function parseEvents(buffer, onEvent) {
    let index;
    while ((index = buffer.indexOf("\n\n")) !== -1) {
      const chunk = buffer.slice(0, index);
      buffer = buffer.slice(index + 2);
      let name = "message";
      const data = [];
      for (const line of chunk.split("\n")) {
        if (line.startsWith("event: ")) name = line.slice(7);
        else if (line.startsWith("data: ")) data.push(line.slice(6));
      }
      if (data.length) onEvent(name, JSON.parse(data.join("\n")));
    }
    return buffer;
  }

  function handle(name, data) {
    if (name === "delta") {
      draftText += data.text;
      scheduleDraft();
      return false;
    }
    if (name === "retry") {
      setWorking("The first answer failed a check (" + data.message + "). Asking once more…");
      draftText = "";
      scheduleDraft();
      return false;
    }
    if (name === "result") {
      body.innerHTML = data.html;
      showCopyButtons(body);
      updateQuota(data.usage);
      setBusy(false);
      setStatus(data.status === "fixed" ? "Your fix is ready." : "No fix found. This attempt was free.", true);
      const heading = document.getElementById("result-heading");
      if (heading) heading.focus();
      return true;
    }
    if (name === "error") {
      setStatus("");
      showError(data.message);
      return true;
    }
    return false;
  }

  function cancelFix() {
    if (controller) controller.abort();
  }
  cancel.addEventListener("click", cancelFix);
  document.addEventListener("keydown", (event) => {
    if (event.key === "Escape" && controller) cancelFix();
  });

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    if (controller) return;
    const tooLong = limited.find((textarea) => !checkLength(textarea));
    if (tooLong) {
      tooLong.focus();
      return;
    }
    alertBox.hidden = true;
    body.replaceChildren();
    draftText = "";
    renderProse(draft, "");
    draft.hidden = true;
    setWorking("Fixing your code…");
    setBusy(true);
    controller = new AbortController();
    let finished = false;
    try {
      const response = await fetch("/fix/stream", {
        method: "POST",
        body: new FormData(form),
        // The token in a header is checked before the server reads the form.
        headers: { Accept: "text/event-stream", "X-CSRF-Token": form.elements.csrf_token.value },
        credentials: "same-origin",
        signal: controller.signal,
      });
      if (response.status === 402) {
        finished = true;
        setStatus("You have used your free fixes. Opening the plans…");
        window.location.assign("/pricing?reason=quota");
        return;
      }
      if (!response.ok) {
        finished = true;
        let message = "Something went wrong (HTTP " + response.status + "). Nothing was charged.";
        try { message = (await response.json()).message || message; } catch (e) { /* not JSON */ }
        setStatus("");
        showError(message);
        return;
      }
      const reader = response.body.getReader();
      const decoder = new TextDecoder();
      let buffer = "";
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        buffer = parseEvents(buffer + decoder.decode(value, { stream: true }), (name, data) => {
          if (handle(name, data)) finished = true;
        });
      }
      if (!finished) {
        setStatus("");
        showError("The connection ended before the fix was finished. No free fix was used; please try again.");
      }
    } catch (err) {
      setStatus("");
      if (err && err.name === "AbortError") {
        setStatus("Canceled. No free fix was used.");
      } else {
        showError("The connection was lost. No free fix was used; please try again.");
      }
    } finally {
      controller = null;
      setBusy(false);
    }
  });
})();
