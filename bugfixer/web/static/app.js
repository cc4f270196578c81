// Progressive enhancement: with JavaScript the fix streams in without a page reload.
(function () {
  "use strict";

  function copyText(id, button) {
    const source = document.getElementById(id);
    if (!source) return;
    const text = source.value;
    const label = button.dataset.label || (button.dataset.label = button.textContent);
    const done = () => {
      button.textContent = "Copied";
      setTimeout(() => { button.textContent = label; }, 1500);
    };
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(text).then(done, () => fallbackCopy(source, done));
    } else {
      fallbackCopy(source, done);
    }
  }

  function fallbackCopy(source, done) {
    source.hidden = false;
    source.select();
    document.execCommand("copy");
    source.hidden = true;
    done();
  }

  document.addEventListener("click", (event) => {
    const button = event.target.closest("button[data-copy]");
    if (button) copyText(button.dataset.copy, button);
  });

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

  const form = document.getElementById("fix-form");
  if (!form || !window.fetch || !window.TextDecoder) return;

  const submit = document.getElementById("submit");
  const progress = document.getElementById("progress");
  const note = document.getElementById("progress-note");
  const draft = document.getElementById("draft");
  const result = document.getElementById("result");
  const alertBox = document.getElementById("form-error");

  function showError(message) {
    alertBox.textContent = message;
    alertBox.hidden = false;
  }

  function updateQuota(usage) {
    const remaining = document.getElementById("quota-remaining");
    if (remaining && usage && usage.remaining !== null) remaining.textContent = usage.remaining;
  }

  function handle(name, data) {
    if (name === "delta") {
      draft.textContent += data.text;
      draft.scrollTop = draft.scrollHeight;
    } else if (name === "retry") {
      note.textContent = "The first answer failed a check (" + data.message + "). Trying once more…";
      draft.textContent = "";
    } else if (name === "result") {
      result.innerHTML = data.html;
      updateQuota(data.usage);
      progress.hidden = true;
    } else if (name === "error") {
      progress.hidden = true;
      showError(data.message);
    }
  }

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    alertBox.hidden = true;
    result.innerHTML = "";
    draft.textContent = "";
    note.textContent = "Working on it…";
    progress.hidden = false;
    submit.disabled = true;
    try {
      const response = await fetch("/fix/stream", {
        method: "POST",
        body: new FormData(form),
        // The token in a header is checked before the server reads the form.
        headers: { Accept: "text/event-stream", "X-CSRF-Token": form.elements.csrf_token.value },
        credentials: "same-origin",
      });
      if (response.status === 402) {
        window.location.assign("/pricing?reason=quota");
        return;
      }
      if (!response.ok) {
        let message = "Something went wrong (" + response.status + ").";
        try { message = (await response.json()).message || message; } catch (e) { /* not JSON */ }
        progress.hidden = true;
        showError(message);
        return;
      }
      const reader = response.body.getReader();
      const decoder = new TextDecoder();
      let buffer = "";
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        buffer = parseEvents(buffer + decoder.decode(value, { stream: true }), handle);
      }
    } catch (err) {
      progress.hidden = true;
      showError("The connection was lost. No free fix was used; please try again.");
    } finally {
      submit.disabled = false;
    }
  });
})();
