// Progressive enhancement only: every page works without this file.
(function () {
  "use strict";
  document.documentElement.classList.add("js");

  // Copy buttons: <button data-copy="#input-id">
  document.addEventListener("click", function (event) {
    var button = event.target.closest("[data-copy]");
    if (!button) return;
    var input = document.querySelector(button.getAttribute("data-copy"));
    if (!input) return;
    var done = function () {
      var label = button.textContent;
      button.textContent = "Copied";
      setTimeout(function () { button.textContent = label; }, 1500);
    };
    input.select();
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(input.value).then(done, function () {
        document.execCommand("copy"); done();
      });
    } else {
      document.execCommand("copy"); done();
    }
  });

  // Wizard: one config page at a time; the server validates on submit.
  var wizard = document.querySelector("form.wizard-form");
  if (wizard) {
    var steps = Array.prototype.slice.call(wizard.querySelectorAll(".step"));
    var tabs = Array.prototype.slice.call(document.querySelectorAll(".steps li"));
    var show = function (index) {
      steps.forEach(function (step, i) { step.classList.toggle("current", i === index); });
      tabs.forEach(function (tab, i) { tab.classList.toggle("current", i === index); });
      var first = steps[index].querySelector("input:not([type=hidden]), select, textarea");
      if (first) first.focus({ preventScroll: true });
    };
    var start = steps.findIndex(function (s) { return s.querySelector(".field.invalid"); });
    show(start < 0 ? 0 : start);
    tabs.forEach(function (tab, i) {
      tab.querySelector("button").addEventListener("click", function () { show(i); });
    });
    wizard.addEventListener("click", function (event) {
      var move = event.target.closest("[data-step]");
      if (!move) return;
      event.preventDefault();
      show(parseInt(move.getAttribute("data-step"), 10));
    });
  }

  // Deploy progress: poll the status endpoint until the deploy has finished.
  var progress = document.querySelector("[data-progress-url]");
  if (progress) {
    var url = progress.getAttribute("data-progress-url");
    var list = progress.querySelector(".progress-list");
    var render = function (status) {
      list.innerHTML = "";
      var steps = status.steps.length ? status.steps : ["Starting…"];
      steps.forEach(function (text, i) {
        var li = document.createElement("li");
        li.textContent = text;
        var last = i === steps.length - 1;
        if (last && !status.finished) li.className = "current";
        if (last && status.failed) li.className = "failed";
        list.appendChild(li);
      });
    };
    var poll = function () {
      fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
        .then(function (r) { return r.json(); })
        .then(function (status) {
          render(status);
          if (status.finished) {
            window.location.assign(status.next_url);
          } else {
            setTimeout(poll, 1000);
          }
        })
        .catch(function () { setTimeout(poll, 2000); });
    };
    poll();
  }
})();
