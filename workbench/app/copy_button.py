""":class:`CopyButton`: a button that puts a text on the clipboard, in the browser, at once.

The Trace page's "Copy for an LLM" button holds the trace as Markdown
(:meth:`workbench.tree.Trace.to_markdown`); a click copies it without a round trip.
"""

from __future__ import annotations

from typing import ClassVar

import param
from panel.custom import JSComponent

__all__ = ["CopyButton"]


class CopyButton(JSComponent):
    """A button that copies ``text`` to the clipboard; it is disabled while ``text`` is empty."""

    text = param.String(default="", doc="What a click copies.")
    label = param.String(default="Copy for an LLM", doc="The button's label.")
    title = param.String(default="", doc="The tooltip.")

    _stylesheets: ClassVar[list[str]] = ["""
button { font: 500 13px system-ui, sans-serif; padding: 5px 10px; border: 1px solid #cbd5e1; border-radius: 6px;
         background: white; color: #0f172a; cursor: pointer; white-space: nowrap; }
button:hover:enabled { background: #f1f5f9; }
button:disabled { color: #94a3b8; cursor: default; }
"""]

    _esm = """
    export function render({ model }) {
      const button = document.createElement("button");
      button.className = "wb-copy";
      const draw = () => {
        button.textContent = model.label;
        button.title = model.title;
        button.disabled = !model.text;
      };
      draw();
      model.on(["label", "title", "text"], draw);
      const fallback = (text) => {  // pages served over plain http to another machine have no clipboard API
        const area = document.createElement("textarea");
        area.value = text;
        area.style.position = "fixed";
        area.style.opacity = "0";
        document.body.appendChild(area);
        area.select();
        const done = document.execCommand("copy");
        area.remove();
        return done;
      };
      button.addEventListener("click", async () => {
        let copied = false;
        try {
          await navigator.clipboard.writeText(model.text);
          copied = true;
        } catch (err) {
          copied = fallback(model.text);
        }
        button.textContent = copied ? "Copied" : "Copy failed";
        button.dataset.copied = copied ? "yes" : "no";
        setTimeout(draw, 1500);
      });
      return button;
    }
    """
