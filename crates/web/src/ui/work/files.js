// Upload forms with a progress bar, and a file dropped onto the page goes into the form.
// The forms work without this script; with it the page stays while the file is sent.
"use strict";
(function () {
  for (const form of document.querySelectorAll("form[data-upload]")) {
    const input = form.querySelector('input[type="file"]');
    const bar = form.querySelector("progress");
    const status = form.querySelector("[data-upload-status]");
    const button = form.querySelector('button[type="submit"]');
    const say = (text) => { if (status) status.textContent = text; };

    const drop = form.querySelector(".drop") || form;
    for (const type of ["dragenter", "dragover"]) {
      document.addEventListener(type, (event) => {
        event.preventDefault();
        drop.classList.add("dropping");
      });
    }
    document.addEventListener("dragleave", () => drop.classList.remove("dropping"));
    document.addEventListener("drop", (event) => {
      event.preventDefault();
      drop.classList.remove("dropping");
      if (event.dataTransfer && event.dataTransfer.files.length > 0 && input) {
        input.files = event.dataTransfer.files;
        say("Ready to upload " + input.files[0].name + ".");
        if (typeof form.requestSubmit === "function") form.requestSubmit();
      }
    });

    form.addEventListener("submit", (event) => {
      if (!input || input.files.length === 0 || typeof XMLHttpRequest === "undefined") return;
      event.preventDefault();
      const request = new XMLHttpRequest();
      request.open("POST", form.action);
      if (bar) { bar.hidden = false; bar.value = 0; }
      if (button) button.disabled = true;
      say("Uploading " + input.files[0].name + "…");
      request.upload.addEventListener("progress", (progress) => {
        if (!progress.lengthComputable) return;
        const percent = Math.floor((progress.loaded / progress.total) * 100);
        if (bar) bar.value = percent;
        say("Uploading " + input.files[0].name + ": " + percent + "%");
      });
      request.addEventListener("load", () => {
        if (request.status < 400 && request.responseURL) {
          window.location.assign(request.responseURL);
          return;
        }
        // A refusal comes as the page with its message: show it as the server wrote it.
        document.open();
        document.write(request.responseText);
        document.close();
      });
      request.addEventListener("error", () => {
        if (button) button.disabled = false;
        if (bar) bar.hidden = true;
        say("The upload did not get through. Check the connection and try again.");
      });
      request.send(new FormData(form));
    });
  }
})();
