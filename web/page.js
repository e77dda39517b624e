// @ts-check
/**
 * The search page. It talks to svgvec only through the svgvec.v1 Connect JSON endpoints of the
 * server that served it. Server data reaches the DOM only as text and as <img> sources: an SVG
 * shown as an image runs no scripts, and nothing from the server is ever parsed as markup.
 */

const SERVICE = "/svgvec.v1.SvgVecService/";
const TOKEN_KEY = "svgvec.token";
const RESULT_COUNT = 24;

/**
 * @typedef {{ id: string, url: string, similarity: number }} SearchHit
 * @typedef {{ hits: SearchHit[] }} SearchResponse
 * @typedef {{ image: { id: string, url: string }, outcome: string }} AddImageResponse
 * @typedef {{ totalImages: string, model?: { name: string, pretrained: string },
 *   milvus?: { deployment: string, version: string } }} StatsResponse
 */

/** A failed call, with the server's Connect error code and message. */
class RpcError extends Error {
  /**
   * @param {string} code
   * @param {string} message
   */
  constructor(code, message) {
    super(message);
    this.code = code;
  }
}

/**
 * @template T
 * @param {string} method
 * @param {object} request
 * @returns {Promise<T>}
 */
async function call(method, request) {
  /** @type {Record<string, string>} */
  const headers = { "content-type": "application/json" };
  const token = sessionStorage.getItem(TOKEN_KEY);
  if (token !== null) headers.authorization = `Bearer ${token}`;
  let res;
  try {
    res = await fetch(SERVICE + method, { method: "POST", headers, body: JSON.stringify(request) });
  } catch {
    throw new RpcError("unavailable", "svgvec cannot be reached: is the server still running?");
  }
  /** @type {unknown} */
  const body = await res.json().catch(() => undefined);
  if (res.ok) return /** @type {T} */ (body);
  const error = connectError(body, res.status);
  if (res.status === 401) {
    // A stored token that the server refuses is of no further use.
    sessionStorage.removeItem(TOKEN_KEY);
    askForToken(error.message);
  }
  throw error;
}

/**
 * Connect's error body, {"code": "...", "message": "..."}, or what the status says when there is none.
 * @param {unknown} body
 * @param {number} status
 * @returns {RpcError}
 */
function connectError(body, status) {
  if (typeof body === "object" && body !== null) {
    const { code, message } = /** @type {{ code?: unknown, message?: unknown }} */ (body);
    if (typeof code === "string") return new RpcError(code, typeof message === "string" ? message : code);
  }
  return new RpcError("unknown", `svgvec answered HTTP ${status} without an error message`);
}

/**
 * @param {string} id
 * @returns {HTMLElement}
 */
function element(id) {
  const found = document.getElementById(id);
  if (found === null) throw new Error(`the page has no #${id}`);
  return found;
}

/**
 * @template {HTMLElement} T
 * @param {string} id
 * @param {new () => T} type
 * @returns {T}
 */
function typed(id, type) {
  const found = element(id);
  if (!(found instanceof type)) throw new Error(`#${id} is not a ${type.name}`);
  return found;
}

/**
 * @param {HTMLElement} target
 * @param {string} text
 * @param {boolean} [isError]
 */
function say(target, text, isError = false) {
  target.textContent = text;
  target.classList.toggle("error", isError);
}

/** @param {unknown} err */
function messageOf(err) {
  return err instanceof Error ? err.message : String(err);
}

/** @param {string} message */
function askForToken(message) {
  const form = typed("token-form", HTMLFormElement);
  form.hidden = false;
  say(element("token-message"), message, true);
  typed("token-input", HTMLInputElement).focus();
}

/** @type {Record<string, string>} */
const DEPLOYMENTS = {
  MILVUS_DEPLOYMENT_LITE: "Milvus Lite",
  MILVUS_DEPLOYMENT_STANDALONE: "Milvus standalone",
  MILVUS_DEPLOYMENT_CLUSTER: "Milvus cluster",
  MILVUS_DEPLOYMENT_UNSPECIFIED: "Milvus (deployment unknown)",
};

async function showStats() {
  const stats = element("stats");
  try {
    /** @type {StatsResponse} */
    const s = await call("Stats", {});
    const parts = [`${s.totalImages} ${s.totalImages === "1" ? "image" : "images"}`];
    if (s.model) parts.push(`model ${s.model.name}${s.model.pretrained ? ` (${s.model.pretrained})` : ""}`);
    if (s.milvus) parts.push(`${DEPLOYMENTS[s.milvus.deployment] ?? "Milvus"} ${s.milvus.version}`.trim());
    say(stats, parts.join(" · "));
  } catch (err) {
    say(stats, `Stats unavailable: ${messageOf(err)}`, true);
  }
}

/**
 * Only http and https URLs become image sources; anything else shows no image.
 * @param {string} url
 * @returns {string | undefined}
 */
function imageSource(url) {
  try {
    const parsed = new URL(url);
    return parsed.protocol === "http:" || parsed.protocol === "https:" ? parsed.href : undefined;
  } catch {
    return undefined;
  }
}

/**
 * @param {SearchHit} hit
 * @returns {HTMLLIElement}
 */
function card(hit) {
  const item = document.createElement("li");
  item.className = "card";
  item.dataset.id = hit.id;
  item.dataset.similarity = String(hit.similarity);
  const img = document.createElement("img");
  img.alt = `image ${hit.id}`;
  img.title = hit.url;
  img.referrerPolicy = "no-referrer";
  img.decoding = "async";
  const source = imageSource(hit.url);
  if (source !== undefined) img.src = source;
  const caption = document.createElement("p");
  const id = document.createElement("span");
  id.className = "id";
  id.textContent = `#${hit.id}`;
  id.title = `#${hit.id}`;
  const similarity = document.createElement("span");
  similarity.className = "similarity";
  similarity.title = "cosine similarity";
  similarity.textContent = hit.similarity.toFixed(3);
  caption.append(id, similarity);
  const like = document.createElement("button");
  like.type = "button";
  like.className = "like";
  like.textContent = "Similar";
  like.title = `images like #${hit.id}, searched with its stored vector`;
  like.addEventListener("click", () => {
    typed("search-input", HTMLInputElement).value = "";
    void search({ likeId: hit.id });
  });
  item.append(img, caption, like);
  return item;
}

/** Answers to an earlier search that arrive after a later one are dropped. */
let searchGeneration = 0;
/** @type {{ text: string } | { likeId: string } | undefined} The search on screen, to run again once a token is given. */
let lastQuery;

/**
 * A search by words, or by a stored image (its own record left out of the answer).
 * @param {{ text: string } | { likeId: string }} query
 * @param {boolean} [remember] add the search to the browser's history
 */
async function search(query, remember = true) {
  const generation = ++searchGeneration;
  lastQuery = query;
  const message = element("search-message");
  const results = element("results");
  say(message, "Searching…");
  const url = new URL(location.href);
  url.searchParams.delete("q");
  url.searchParams.delete("like");
  if ("text" in query) url.searchParams.set("q", query.text);
  else url.searchParams.set("like", query.likeId);
  // Each search is a step that Back returns from; one the address bar asked for is already there.
  if (remember && url.href !== location.href) history.pushState(null, "", url);
  try {
    /** @type {SearchResponse} */
    const answer = await call("Search", { ...query, k: RESULT_COUNT });
    if (generation !== searchGeneration) return;
    // The server answers best first.
    results.replaceChildren(...answer.hits.map(card));
    const n = answer.hits.length;
    const what = "text" in query ? `best ${n === 1 ? "match" : "matches"}` : `${n === 1 ? "image" : "images"} most like #${query.likeId}`;
    const none = "text" in query ? "No images stored yet: add one." : `No other images are stored besides #${query.likeId}.`;
    say(message, n === 0 ? none : `${n} ${what}`);
  } catch (err) {
    if (generation !== searchGeneration) return;
    results.replaceChildren();
    say(message, messageOf(err), true);
  }
}

/** @type {Record<string, string>} */
const OUTCOMES = {
  ADD_OUTCOME_ADDED: "Added image",
  ADD_OUTCOME_REPLACED: "Replaced (new URL or content):",
  ADD_OUTCOME_UNCHANGED: "Nothing changed, it already holds this SVG:",
};

/**
 * @param {string} id
 * @param {string} url
 */
async function addImage(id, url) {
  const message = element("add-message");
  say(message, "Adding…");
  try {
    // An empty id is left out, so the server says that it is required.
    /** @type {AddImageResponse} */
    const answer = await call("AddImage", id === "" ? { url } : { id, url });
    say(message, `${OUTCOMES[answer.outcome] ?? answer.outcome} #${answer.image.id}`);
    void showStats();
  } catch (err) {
    say(message, messageOf(err), true);
  }
}

/**
 * Runs work with the form's submit button disabled.
 * @param {HTMLFormElement} form
 * @param {() => Promise<void>} work
 */
async function busy(form, work) {
  const button = form.querySelector("button");
  if (button !== null) button.disabled = true;
  try {
    await work();
  } finally {
    if (button !== null) button.disabled = false;
  }
}

function start() {
  const searchForm = typed("search-form", HTMLFormElement);
  const searchInput = typed("search-input", HTMLInputElement);
  const addForm = typed("add-form", HTMLFormElement);
  const tokenForm = typed("token-form", HTMLFormElement);

  searchForm.addEventListener("submit", (event) => {
    event.preventDefault();
    const text = searchInput.value.trim();
    if (text !== "") void search({ text });
  });
  addForm.addEventListener("submit", (event) => {
    event.preventDefault();
    const id = typed("add-id", HTMLInputElement).value.trim();
    const url = typed("add-url", HTMLInputElement).value.trim();
    void busy(addForm, () => addImage(id, url));
  });
  tokenForm.addEventListener("submit", (event) => {
    event.preventDefault();
    const input = typed("token-input", HTMLInputElement);
    const token = input.value.trim();
    if (token === "") return;
    sessionStorage.setItem(TOKEN_KEY, token);
    input.value = "";
    tokenForm.hidden = true;
    say(element("token-message"), "");
    void showStats();
    if (lastQuery !== undefined) void search(lastQuery, false);
  });
  // Back and Forward show the search of that step again.
  window.addEventListener("popstate", () => searchFromAddress(searchInput));

  void showStats();
  searchFromAddress(searchInput);
}

/**
 * Runs the search the address asks for: ?q=words or ?like=id.
 * @param {HTMLInputElement} searchInput
 */
function searchFromAddress(searchInput) {
  const params = new URL(location.href).searchParams;
  const query = params.get("q")?.trim() ?? "";
  const like = params.get("like")?.trim() ?? "";
  if (query !== "") {
    searchInput.value = query;
    void search({ text: query }, false);
  } else if (/^-?\d{1,19}$/.test(like)) {
    searchInput.value = "";
    void search({ likeId: like }, false);
  } else if (like !== "") {
    say(element("search-message"), `like=${like.slice(0, 40)} is not an image id: use ?like= with a number such as 101`, true);
  }
}

start();
