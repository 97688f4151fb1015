"""What the charts on a page show, read from the Bokeh documents in the browser: each legend's
entries with their colours, where the legend sits and what a click on it does, and the
colour of each bar of the bar charts."""

from __future__ import annotations

from typing import Any

_LEGENDS = """() => {
  const out = [];
  for (const doc of Bokeh.documents) {
    const models = [...doc._all_models.values()];
    for (const m of models) {
      if (m.type !== 'Legend') continue;
      const plot = models.find((p) => p.type === 'Figure' && [...(p.below || []), ...(p.center || []),
                                 ...(p.right || []), ...(p.above || []), ...(p.left || [])].includes(m));
      const side = !plot ? null : (plot.below || []).includes(m) ? 'below' : (plot.center || []).includes(m) ? 'center'
                   : 'other';
      const colors = {};
      for (const item of m.items) {
        const label = item.label && item.label.value;
        const glyph = item.renderers.length ? item.renderers[0].glyph : null;
        const color = glyph ? (glyph.line_color && glyph.line_color.value)
                              || (glyph.fill_color && glyph.fill_color.value) : null;
        colors[label] = glyph && glyph.type === 'Quad' ? glyph.fill_color.value : color;
      }
      out.push({title: plot && plot.title ? plot.title.text : '', colors, click: m.click_policy, side});
    }
  }
  return out;
}"""

_BARS = """() => {
  const out = [];
  for (const doc of Bokeh.documents) for (const m of doc._all_models.values()) {
    if (m.type !== 'GlyphRenderer' || !m.glyph || m.glyph.type !== 'HBar') continue;
    const data = m.data_source.data;
    const colors = {};
    const labels = Array.from(data.label || []);
    labels.forEach((label, i) => { colors[label] = data.color[i]; });
    out.push(colors);
  }
  return out;
}"""


def legends(app: Any) -> list[dict[str, Any]]:
    """Every legend on the page: ``{"title", "colors": {label: colour}, "click", "side"}``."""
    return app.page.evaluate(_LEGENDS)


def bar_colors(app: Any) -> list[dict[str, str]]:
    """The colour of each bar by its label, per horizontal bar chart on the page."""
    return app.page.evaluate(_BARS)
