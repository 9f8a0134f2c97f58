// The browser half of ui/head_switch.py: a Streamlit v2 component (in-page module, no iframe, no
// network) bound to the plotly chart drawn just before it with key `data.chart`
// (viz.head_switch.multi_head_heatmap). It
//   * decodes the chart's integer levels into weights once (NaN on masked cells), so the hover
//     shows the weight and masked cells are gaps, as on every other map of the app;
//   * shows `data.head` when the server asks for another head than the one on screen (the head
//     picked elsewhere, e.g. in the "Head" selectbox), through the chart's own button;
//   * reports a head picked in the browser (a button, or the arrow keys on the focused chart) as
//     the trigger `pick` = {head, load, n}; the server stores it and echoes `seen` = {load, n},
//     so a reply to an older pick never moves the map back while a newer one is on its way.
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
  const behind = mine.n > (seen && seen.load === LOAD ? seen.n : 0);   // a pick not yet seen
  let gd = null, box = null, timer = null, stopped = false;

  const report = () => {
    // After the frame that shows the new head: the rerun request never delays that frame.
    requestAnimationFrame(() => setTimeout(() => {
      const h = gd ? shown(gd, heads) : -1;
      if (h < 0 || stopped) return;
      mine.n += 1;
      setTriggerValue("pick", { head: h, load: LOAD, n: mine.n });
    }, 0));
  };
  const onKey = (e) => {
    if (e.key !== "ArrowLeft" && e.key !== "ArrowRight") return;
    const h = shown(gd, heads), next = h + (e.key === "ArrowRight" ? 1 : -1);
    if (h < 0 || next < 0 || next >= heads) return;
    e.preventDefault();
    show(gd, next).then(report);
  };

  const attach = () => {
    if (stopped) return;
    const root = document.querySelector(`.st-key-${CSS.escape(chart)}`);
    const el = root && root.querySelector(".js-plotly-plot");
    const ready = el && window.Plotly && el._fullLayout && el.data && el.data.length >= heads;
    if (!ready || !el.layout.meta || el.layout.meta.figure !== figure) {
      timer = setTimeout(attach, 30);           // the chart is not drawn (or not this one) yet
      return;
    }
    gd = el;
    box = root;
    const work = gd.data[0].meta.decoded ? Promise.resolve() : decode(gd, heads);
    work.then(() => {
      if (stopped) return;
      if (!behind && shown(gd, heads) !== head) show(gd, head);
      gd.on("plotly_buttonclicked", report);
      box.tabIndex = 0;                         // focusable: the arrow keys switch heads
      box.addEventListener("keydown", onKey);
      box.dataset.headSwitch = "ready";
    });
  };
  const stop = () => {
    stopped = true;
    clearTimeout(timer);
    if (gd) gd.removeListener("plotly_buttonclicked", report);
    if (box) box.removeEventListener("keydown", onKey);
    if (live[chart] === stop) delete live[chart];
  };
  // Streamlit calls this function again with new data without calling the previous call's
  // cleanup (only on unmount), so the previous binding of this chart is stopped here.
  if (live[chart]) live[chart]();
  live[chart] = stop;
  attach();
  return stop;
}
