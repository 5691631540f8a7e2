// A student's progress through the course, kept in this browser only (localStorage), so the course
// works without accounts. One JSON object per lesson id: {step, prediction, revealed, checkpoints, runs}.

const KEY = "herdlab.lessons.v1";

function readAll() {
  try {
    const all = JSON.parse(localStorage.getItem(KEY) || "{}");
    return all && typeof all === "object" ? all : {};
  } catch {
    return {};   // corrupt or blocked storage: start afresh rather than break the page
  }
}

/** The saved progress of one lesson (an empty object if none). */
export function load(lessonId) {
  return readAll()[lessonId] || {};
}

/** Merge `update` into one lesson's progress and save; returns the new progress. */
export function save(lessonId, update) {
  const all = readAll();
  all[lessonId] = { ...(all[lessonId] || {}), ...update };
  try { localStorage.setItem(KEY, JSON.stringify(all)); } catch { /* storage full or blocked */ }
  return all[lessonId];
}

/**
 * How far a lesson is: the prediction counts once it was revealed by a run, a checkpoint once it
 * was answered right. `total` is the number of such tasks in the lesson.
 */
export function tally(progress, total) {
  const right = Object.values(progress.checkpoints || {}).filter((c) => c.correct).length;
  const done = right + (progress.revealed ? 1 : 0);
  return { done, total, finished: total > 0 && done >= total, started: Object.keys(progress).length > 0 };
}
