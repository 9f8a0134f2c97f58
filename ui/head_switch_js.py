"""The browser half of ui/head_switch.py, as a string: a Python module (not a .js file) so an
installed copy of the app always has it (setuptools packages modules, not data files)."""

JS = r"""
// The browser half of ui/head_switch.py: a Streamlit v2 component (in-page module, no iframe,
// no network) bound to the plotly chart drawn just before it with key `data.chart`
// (viz.head_switch.multi_head_heatmap). It
//   * decodes the chart's integer levels into weights once (NaN on masked cells), so the hover
//     shows the weight and masked cells are gaps, as on every other map of the app;
//   * shows `data.head` when the server asks for another head than the one on screen (the head
//     picked elsewhere, e.g. in the "Head" selectbox), through the chart's own button;
//   * reports a head picked in the browser (a button, or the arrow keys on the focused chart) as
//     the trigger `pick` = {head, load, n}; the server stores it and echoes `seen` = {load, n},
//     so a reply to an older pick never moves the map back while a newer one is on its way;
//   * marks the chart `data-head-sync` from a pick until the server has it: the rerun that
//     stores the pick leaves the map as it is, so it is not faded as a stale element.
// Plotly itself is the copy Streamlit loaded for the chart (window.Plotly).

const LOAD = Math.random().toString(36).slice(2);   // this page load
const sent = {};                                     // chart key -> picks sent from this load
const live = {};                                     // chart key -> stop the running binding

function levels(z) {
  // A trace's z as {vals, rows, cols}: a base64 typed-array spec, or rows of numbers.
  if (z && typeof z === "object" && typeof z.bdata === "string") {
    const bin = atob(z.bdata);
    const bytes = new Uint8Array(bin.length);
    for (let i = 0; i < bin.length; i++) bytes[i] = bin.charCodeAt(i);
    const Kind = { u1: Uint8Array, u2: Uint16Array }[z.dtype];
    const [rows, cols] = String(z.shape).split(",").map(Number);
    return { vals: new Kind(bytes.buffer), rows, cols };
  }
  const rows = z.length, cols = z[0].length, vals = new Float64Array(rows * cols);
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) vals[r * cols + c] = z[r][c];
  return { vals, rows, cols };
}

function decode(gd, heads) {
  // Levels -> weights (float32 rows, NaN where masked) for every head trace, in one restyle.
  const idx = [], zs = [], zmin = [], zmax = [], hover = [], ticks = [], text = [], metas = [];
  for (let h = 0; h < heads; h++) {
    const t = gd.data[h], m = t.meta;
    const { vals, rows, cols } = levels(t.z);
    const w = new Float32Array(rows * cols);
    for (let i = 0; i < w.length; i++) {
      w[i] = vals[i] === m.masked ? NaN : m.base + vals[i] * m.step;
    }
    const z = [];
    for (let r = 0; r < rows; r++) {
      const row = w.subarray(r * cols, (r + 1) * cols);
      row.toJSON = () => Array.from(row);      // Streamlit re-themes a figure via JSON
      z.push(row);
    }
    idx.push(h); zs.push(z); zmin.push(m.zmin); zmax.push(m.zmax); hover.push(m.hover);
    ticks.push(m.ticks); text.push(m.ticktext); metas.push({ ...m, decoded: true });
  }
  return window.Plotly.restyle(gd, {
    z: zs, zmin, zmax, hovertemplate: hover, "colorbar.tickvals": ticks,
    "colorbar.ticktext": text, meta: metas,
  }, idx);
}

function shown(gd, heads) {
  for (let h = 0; h < heads; h++) if (gd.data[h] && gd.data[h].visible === true) return h;
  return -1;
}

function buttons(gd) {
  return (gd.layout.updatemenus || []).flatMap((m) => m.buttons || []);
}

function show(gd, h) {
  // What a click on button h does (its args), without the click.
  const b = buttons(gd)[h];
  return b ? window.Plotly.update(gd, b.args[0], b.args[1]) : Promise.resolve();
}

export default function (component) {
  const { data, setTriggerValue } = component;
  const { chart, head, heads, figure, seen } = data;
  const mine = sent[chart] || (sent[chart] = { n: 0 });
  const seenN = seen && seen.load === LOAD ? seen.n : 0;
  const behind = () => mine.n > seenN;              // a pick the server has not stored yet
  const selector = `.st-key-${CSS.escape(chart)}`;
  const plot = () => document.querySelector(`${selector} .js-plotly-plot`);
  let timer = null, stopped = false, bound = null, tries = 0;

  const report = () => {
    // Counted at once (a reply to an older state arriving now must not move the map back),
    // sent after the frame that shows the new head (the request never delays that frame).
    mine.n += 1;
    const n = mine.n;
    requestAnimationFrame(() => setTimeout(() => {
      const gd = plot(), h = gd && gd.data ? shown(gd, heads) : -1;
      if (h < 0 || n !== mine.n) return;             // a later pick reports for both
      gd.closest(selector).dataset.headSync = "1";   // ui/head_switch.py's CSS: no stale fade
      setTriggerValue("pick", { head: h, load: LOAD, n });
    }, 0));
  };
  // Delegated to the document (bubbling, so after plotly's own handler on the button): a chart
  // that Streamlit re-mounts (a tab shown again) needs no new listener.
  const onClick = (e) => {
    if (e.target instanceof Element && e.target.closest(`${selector} .updatemenu-button`)) {
      report();
    }
  };
  const onKey = (e) => {
    if (e.key !== "ArrowLeft" && e.key !== "ArrowRight") return;
    const gd = plot();
    if (!gd || !(e.target instanceof Element) || !e.target.closest(selector)) return;
    const h = shown(gd, heads), next = h + (e.key === "ArrowRight" ? 1 : -1);
    if (h < 0 || next < 0 || next >= heads) return;
    e.preventDefault();
    show(gd, next);
    report();
  };

  const attach = () => {
    // Bind the chart once it is drawn (and again if Streamlit replaces its element): decode
    // its levels, show the server's head, make it focusable for the arrow keys.
    if (stopped) return;
    const gd = plot();
    const ready = gd && window.Plotly && gd._fullLayout && gd.data && gd.data.length >= heads
      && gd.layout.meta && gd.layout.meta.figure === figure;
    if (ready && gd !== bound) {
      bound = gd;
      const work = gd.data[0].meta.decoded ? Promise.resolve() : decode(gd, heads);
      work.then(() => {
        if (stopped) return;
        if (!behind() && shown(gd, heads) !== head) show(gd, head);
        const root = gd.closest(selector);
        root.tabIndex = 0;
        root.dataset.headSwitch = "ready";
      });
    }
    tries += 1;
    timer = setTimeout(attach, bound ? 500 : tries < 100 ? 30 : 250);   // cheap re-checks
  };
  const stop = () => {
    stopped = true;
    clearTimeout(timer);
    document.removeEventListener("click", onClick);
    document.removeEventListener("keydown", onKey);
    if (live[chart] === stop) delete live[chart];
  };
  // Streamlit calls this function again with new data without calling the previous call's
  // cleanup (only on unmount), so the previous binding of this chart is stopped here.
  if (live[chart]) live[chart]();
  if (!behind()) {                                 // the server has every pick: fade again
    const root = document.querySelector(selector);
    if (root) delete root.dataset.headSync;
  }
  live[chart] = stop;
  document.addEventListener("click", onClick);
  document.addEventListener("keydown", onKey);
  attach();
  return stop;
}
"""
