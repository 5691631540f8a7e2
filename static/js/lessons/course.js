// The course list (on / and /lessons): a progress badge per lesson from the browser's saved progress.
import { load, tally } from "./progress.js";

const items = [...document.querySelectorAll(".course-item[data-lesson]")];
let finished = 0;
for (const item of items) {
  const t = tally(load(item.dataset.lesson), Number(item.dataset.total));
  const badge = item.querySelector('[data-role="progress"]');
  item.dataset.state = t.finished ? "done" : t.started ? "started" : "new";
  badge.textContent = t.finished ? "done ✓" : t.started ? `${t.done} of ${t.total} tasks` : "not started";
  if (t.finished) finished++;
}
for (const overall of document.querySelectorAll('[data-role="overall"]')) {
  overall.textContent = finished ? `You have finished ${finished} of ${items.length} lessons in this browser.` : "";
}
