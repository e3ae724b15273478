// Short messages in the page's #toasts corner; shared by the player and the gallery.

// Errors stay longer and can be dismissed; returns the node so a caller can drop it early.
export function toast(text, { level = "info", ms = 2500 } = {}) {
  const node = document.createElement("div");
  node.className = "toast " + level;
  node.setAttribute("role", level === "error" ? "alert" : "status");
  node.textContent = text;
  if (level === "error") {
    const close = document.createElement("button");
    close.type = "button"; close.className = "close"; close.textContent = "×";
    close.setAttribute("aria-label", "Dismiss");
    close.addEventListener("click", () => node.remove());
    node.appendChild(close);
    ms = Math.max(ms, 8000);
  }
  document.getElementById("toasts").appendChild(node);
  setTimeout(() => node.remove(), ms);
  return node;
}
