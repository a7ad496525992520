// statusrelay dashboard enhancements. The pages work without this script; it only shows times
// in the viewer's time zone (UTC stays in the tooltip), filters the overview as one types, and
// keeps the filter in the address so the automatic refresh keeps it too.
"use strict";
(function () {
  const format = new Intl.DateTimeFormat(undefined, {
    dateStyle: "medium", timeStyle: "short",
  });
  for (const el of document.querySelectorAll("time[datetime]")) {
    const at = new Date(el.getAttribute("datetime"));
    if (!isNaN(at) && el.dataset.local !== "no") {
      el.textContent = format.format(at);
    }
  }
  const search = document.getElementById("q");
  if (!search) return;
  const rows = Array.from(document.querySelectorAll(".cards > li, ul.names > li"));
  const apply = () => {
    const wanted = search.value.trim().toLowerCase();
    let shown = 0;
    for (const row of rows) {
      const name = row.dataset.name || row.textContent.toLowerCase();
      const match = !wanted || name.includes(wanted);
      row.hidden = !match;
      if (match) shown++;
    }
    const count = document.getElementById("shown");
    if (count) count.textContent = String(shown);
    const url = new URL(window.location.href);
    if (wanted) url.searchParams.set("q", search.value.trim());
    else url.searchParams.delete("q");
    window.history.replaceState(null, "", url);
  };
  search.addEventListener("input", apply);
})();
