// The pages' JSON client: session cookie, CSRF header on writes, API errors as ApiError.

export class ApiError extends Error {
  constructor(code, detail, status, data) {
    super(detail || code);
    this.code = code; this.detail = detail || code; this.status = status; this.data = data;
  }
}

export function cookie(name) {
  const match = document.cookie.split("; ").find((c) => c.startsWith(name + "="));
  return match ? decodeURIComponent(match.slice(name.length + 1)) : "";
}

export async function api(method, url, body) {
  const opts = { method, credentials: "same-origin", headers: { Accept: "application/json" } };
  if (body !== undefined) {
    opts.headers["Content-Type"] = "application/json";
    opts.body = JSON.stringify(body);
  }
  if (method !== "GET") opts.headers["X-CSRFToken"] = cookie("csrftoken");
  let resp;
  try {
    resp = await fetch(url, opts);
  } catch (err) {
    throw new ApiError("network", "the server did not answer (" + err.message + ")", 0);
  }
  let data = null;
  try { data = await resp.json(); } catch (_) { /* not JSON */ }
  if (resp.status === 401 || resp.status === 403 && data && /credentials|authenticat/i.test(data.detail || "")) {
    throw new ApiError("login", "your session has ended; reload the page to sign in again", resp.status, data);
  }
  if (!resp.ok) {
    const detail = data && (data.detail || data.error) || resp.status + " " + resp.statusText;
    throw new ApiError(data && data.error || "http_" + resp.status, detail, resp.status, data);
  }
  return data;
}
