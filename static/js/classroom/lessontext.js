// A lesson's question, choices and step titles as the lesson page renders them: the server turns
// the lesson's Markdown into sanitised HTML (nh3) for that page, and the classroom reuses exactly
// that instead of a second Markdown renderer, so the projector, phones and console never show raw
// `**Markdown**`. One fetch per lesson per page, kept.

const cache = new Map();

/**
 * `{question, choices, steps}` of a lesson, each an HTML string from its page (steps by id), or
 * null when the page cannot be had (then callers show the plain text).
 */
export function lessonText(id) {
  if (!id) return Promise.resolve(null);
  if (!cache.has(id)) cache.set(id, load(id).catch(() => null));
  return cache.get(id);
}

async function load(id) {
  const res = await fetch(`/lessons/${encodeURIComponent(id)}`);
  if (!res.ok) return null;
  const doc = new DOMParser().parseFromString(await res.text(), "text/html");
  const legend = doc.querySelector('[data-role="prediction"] legend');
  legend?.querySelector(".tag")?.remove();
  const steps = {};
  for (const section of doc.querySelectorAll("section.step[data-step]")) {
    const h = section.querySelector("h2");
    h?.querySelector(".anchor")?.remove();
    if (h) steps[section.dataset.step] = h.innerHTML.trim();
  }
  return {
    question: legend ? legend.innerHTML.trim() : null,
    choices: [...doc.querySelectorAll('[data-role="prediction"] [data-choice-text]')].map((el) => el.innerHTML.trim()),
    steps,
  };
}

/**
 * Put lesson HTML (from the server's sanitiser, see above) into `el`, or `plain` as text when
 * there is none. The HTML is parsed inertly and its nodes adopted, never run.
 */
export function showRich(el, html, plain) {
  if (!html) { el.textContent = plain ?? ""; return; }
  const doc = new DOMParser().parseFromString(`<body>${html}</body>`, "text/html");
  el.replaceChildren(...[...doc.body.childNodes].map((n) => document.importNode(n, true)));
}
