// Installed before the page loads. window.__hs.arm(h): the next click starts a clock, the first
// frame showing head h stops it. Until disarm(), every frame also records whether the plot was
// replaced or redrawn and the chart container's opacity (a fading stale element); every message
// the page sends on a websocket is timed, to tell whether one left before the frame.
// Used by bench/head_switch_speed.py and tests/e2e/test_head_switch.py.
(() => {
  const sends = [];
  const send = WebSocket.prototype.send;
  WebSocket.prototype.send = function (m) {
    sends.push({t: performance.now(), n: m.byteLength ?? m.size ?? m.length});
    return send.call(this, m);
  };
  const root = () => document.querySelector('.st-key-map');
  const plot = () => root() && root().querySelector('.js-plotly-plot');
  const image = () => { const i = plot() && plot().querySelector('.hm image');
                        return i ? i.getAttribute('href') : null; };
  const names = (gd, h) => new RegExp(`head ${h}(?!\\d)`).test(gd.layout.title.text || '');
  window.__hs = {
    arm(h) {
      const s = this.s = {h, t0: null, frame: null, gd: plot(), img: image(), replaced: false,
                          redrawn: 0, minOpacity: 1, on: true, after: null, sends: sends.length};
      document.addEventListener('click', (e) => {
        s.t0 = e.timeStamp;
        const tick = () => {
          if (!s.on) return;
          const gd = plot();
          if (gd !== s.gd) s.replaced = true;
          const els = [root(), root() && root().parentElement].filter(Boolean);
          s.minOpacity = Math.min(s.minOpacity,
                                  ...els.map((el) => Number(getComputedStyle(el).opacity)));
          const img = image();
          if (s.frame === null && s.after === null && gd && names(gd, h) && img !== s.img) {
            s.after = img;
            const ch = new MessageChannel();
            ch.port1.onmessage = () => { s.frame = performance.now() - s.t0; };
            ch.port2.postMessage(0);
          } else if (s.after !== null && img !== s.after) { s.redrawn += 1; s.after = img; }
          requestAnimationFrame(tick);
        };
        requestAnimationFrame(tick);
      }, {capture: true, once: true});
    },
    disarm() {
      const s = this.s;
      s.on = false;
      s.sent = sends.slice(s.sends).map((m) => ({ms: m.t - s.t0, bytes: m.n}));
      return s;
    },
  };
})()
