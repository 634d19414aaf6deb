/* global acquireVsCodeApi, setInterval, clearInterval */
// The preview webview: draws what the extension posts ({type: 'show', ...}) with DOM calls only (textContent,
// never innerHTML), and a closure-size chart in SVG drawn here, no library. Theme colours come from CSS variables.
(function () {
  'use strict';
  const vscode = acquireVsCodeApi();
  const app = document.getElementById('app');
  const SVG = 'http://www.w3.org/2000/svg';

  function el(tag, className, text) {
    const node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined && text !== null) node.textContent = String(text);
    return node;
  }

  // Byte counts are formatted by the extension (core/format, one rounding function for the whole page and the
  // terminal): the show message carries the text of every count it holds.
  let byteTexts = {};
  function bytes(n) {
    const text = byteTexts[String(Math.abs(n))];
    return (n < 0 ? '-' : '') + (text !== undefined ? text : Math.abs(n) + ' B');
  }

  function signed(n) {
    return (n > 0 ? '+' : n < 0 ? '-' : '\u00b1') + bytes(Math.abs(n));
  }

  // A package's versions on one side: "not present" when it is absent there, "(no version)" for a store path
  // whose name carries no version.
  function versions(list) {
    if (!list || list.length === 0) return 'not present';
    return list.map((v) => (v === '' ? '(no version)' : v)).join(', ');
  }

  function side(info) {
    const gen = info.generation !== null ? 'generation ' + info.generation : info.storePath;
    const where = typeof info.host === 'string' && info.host !== '' ? info.host + ': ' : '';
    return where + (info.label ? gen + ' (' + info.label + ')' : gen);
  }

  function section(title, count) {
    const s = el('section', 'section');
    const h = el('h2', null, title + (count !== undefined ? ' (' + count + ')' : ''));
    s.appendChild(h);
    return s;
  }

  function table(headers, rows) {
    const t = el('table');
    const head = el('tr');
    headers.forEach((h) => head.appendChild(el('th', null, h)));
    const thead = el('thead');
    thead.appendChild(head);
    t.appendChild(thead);
    const body = el('tbody');
    rows.forEach((cells) => {
      const tr = el('tr', cells.className);
      cells.values.forEach((c, i) => tr.appendChild(el('td', cells.classes ? cells.classes[i] : null, c)));
      body.appendChild(tr);
    });
    t.appendChild(body);
    return t;
  }

  function chart(points) {
    const wrap = el('div', 'chart');
    if (!points || points.length === 0) {
      wrap.appendChild(el('p', 'muted', 'Closure sizes are not known yet.'));
      return wrap;
    }
    const width = Math.max(320, points.length * 18 + 60);
    const height = 160;
    const max =
      Math.max.apply(
        null,
        points.map((p) => p.size),
      ) || 1;
    const svg = document.createElementNS(SVG, 'svg');
    svg.setAttribute('viewBox', '0 0 ' + width + ' ' + height);
    svg.setAttribute('width', String(width));
    svg.setAttribute('height', String(height));
    svg.setAttribute('role', 'img');
    svg.setAttribute('aria-label', 'Closure size of each generation');
    const plot = height - 30;
    const step = (width - 50) / points.length;
    points.forEach((p, i) => {
      const h = Math.max(1, Math.round((p.size / max) * (plot - 10)));
      const rect = document.createElementNS(SVG, 'rect');
      rect.setAttribute('x', String(40 + i * step + 2));
      rect.setAttribute('y', String(plot - h));
      rect.setAttribute('width', String(Math.max(2, step - 4)));
      rect.setAttribute('height', String(h));
      rect.setAttribute('class', 'bar' + (p.compared ? ' compared' : '') + (p.activated ? ' activated' : ''));
      const title = document.createElementNS(SVG, 'title');
      title.textContent = 'generation ' + p.generation + ': ' + bytes(p.size);
      rect.appendChild(title);
      svg.appendChild(rect);
      if (points.length <= 40 || p.compared || i % Math.ceil(points.length / 20) === 0) {
        const label = document.createElementNS(SVG, 'text');
        label.setAttribute('x', String(40 + i * step + step / 2));
        label.setAttribute('y', String(height - 14));
        label.setAttribute('text-anchor', 'middle');
        label.setAttribute('class', 'axis');
        label.textContent = String(p.generation);
        svg.appendChild(label);
      }
    });
    const top = document.createElementNS(SVG, 'text');
    top.setAttribute('x', '2');
    top.setAttribute('y', '12');
    top.setAttribute('class', 'axis');
    top.textContent = bytes(max);
    svg.appendChild(top);
    const zero = document.createElementNS(SVG, 'text');
    zero.setAttribute('x', '2');
    zero.setAttribute('y', String(plot));
    zero.setAttribute('class', 'axis');
    zero.textContent = '0';
    svg.appendChild(zero);
    wrap.appendChild(svg);
    const legend = el('div', 'legend');
    const key = (cls, text) => {
      const item = el('span');
      item.appendChild(el('span', 'swatch' + (cls ? ' ' + cls : '')));
      item.appendChild(document.createTextNode(text));
      legend.appendChild(item);
    };
    key('', 'other generations');
    key('compared', 'the two compared');
    if (points.some((p) => p.activated)) key('activated', 'running now (outlined)');
    legend.appendChild(el('span', null, 'Bar height: closure size, from 0 to ' + bytes(max) + '.'));
    wrap.appendChild(legend);
    points
      .filter((p) => p.compared)
      .forEach((p) => wrap.appendChild(el('p', 'muted', 'Generation ' + p.generation + ': ' + bytes(p.size))));
    return wrap;
  }

  function render(msg) {
    const d = msg.diff;
    app.replaceChildren();
    app.appendChild(el('h1', null, msg.title));
    if (msg.note) app.appendChild(el('p', 'note', msg.note));
    const sides = el('p', 'sides');
    sides.appendChild(el('span', null, 'From ' + side(d.from)));
    sides.appendChild(el('span', 'arrow', ' \u2192 '));
    sides.appendChild(el('span', null, side(d.to)));
    app.appendChild(sides);

    // how the machine is reached before and after: what may cut an ssh session off comes before everything
    if (d.reach && d.reach.length > 0) {
      const cut = d.reach.filter((f) => f.cutsOff).length;
      const s = section(cut > 0 ? 'Changes that may cut you off' : 'How the machine is reached', d.reach.length);
      s.classList.add('reach');
      const list = el('ul', 'risks');
      d.reach.forEach((f) => {
        const li = el('li', 'risk ' + (f.cutsOff ? 'error' : 'information'));
        li.appendChild(el('span', 'badge', f.cutsOff ? 'cut off' : f.subject));
        li.appendChild(el('span', null, ' ' + f.message));
        list.appendChild(li);
      });
      s.appendChild(list);
      app.appendChild(s);
    }

    if (d.risks.length > 0) {
      const s = section('Risky changes', d.risks.length);
      const list = el('ul', 'risks');
      d.risks.forEach((r) => {
        const li = el('li', 'risk ' + r.severity);
        li.appendChild(el('span', 'badge', r.severity));
        li.appendChild(el('span', null, ' ' + r.message));
        list.appendChild(li);
      });
      s.appendChild(list);
      app.appendChild(s);
    }

    const c = d.closure;
    const summary = el('div', 'cards');
    const card = (label, value, extra) => {
      const box = el('div', 'card');
      box.appendChild(el('div', 'label', label));
      box.appendChild(el('div', 'value', value));
      if (extra) box.appendChild(el('div', 'muted', extra));
      summary.appendChild(box);
    };
    card('Closure size', bytes(c.sizeAfter), signed(c.sizeDelta) + ' (from ' + bytes(c.sizeBefore) + ')');
    card(
      'Packages',
      c.packages.length + ' changed',
      ['upgraded', 'downgraded', 'added', 'removed', 'changed']
        .filter((k) => c.counts[k] > 0)
        .map((k) => c.counts[k] + ' ' + k)
        .join(', ') || 'no version changes',
    );
    if (msg.profileKind === 'system') {
      card(
        'Kernel',
        d.kernel.changed ? d.kernel.before + ' \u2192 ' + d.kernel.after : d.kernel.after || 'unknown',
        d.kernel.rebootNeeded ? 'reboot needed' : 'no reboot needed',
      );
    }
    if (d.stateVersion.before !== null || d.stateVersion.after !== null) {
      const sv = d.stateVersion;
      if (sv.before !== null && sv.after !== null) {
        card(
          'stateVersion',
          sv.changed ? sv.before + ' \u2192 ' + sv.after : sv.after,
          sv.changed ? 'changed' : 'unchanged',
        );
      } else {
        const known = sv.after !== null ? sv.after : sv.before;
        const unknownSide = sv.after !== null ? d.from : d.to;
        card('stateVersion', known, 'not recorded in ' + side(unknownSide));
      }
    }
    app.appendChild(summary);

    if (msg.mode === 'confirm') {
      const bar = el('div', 'actions');
      bar.id = 'actions';
      const go = el('button', 'primary', 'Switch safely');
      go.id = 'switch';
      const cancel = el('button', 'secondary', 'Cancel');
      cancel.id = 'cancel';
      go.addEventListener('click', () => {
        go.disabled = true;
        cancel.disabled = true;
        go.textContent = 'Switching…';
        vscode.postMessage({ type: 'decide', decision: 'switch', showId: msg.showId });
      });
      cancel.addEventListener('click', () => {
        go.disabled = true;
        cancel.disabled = true;
        vscode.postMessage({ type: 'decide', decision: 'cancel', showId: msg.showId });
      });
      bar.appendChild(go);
      bar.appendChild(cancel);
      app.appendChild(bar);
    }

    if (d.units) {
      const u = d.units;
      const rows = [
        ['stop', u.stop],
        ['leave running (changed)', u.skip],
        ['reload', u.reload],
        ['restart', u.restart],
        ['start', u.start],
      ]
        .filter((r) => r[1].length > 0)
        .map((r) => ({ values: [r[0], r[1].join(', ')] }));
      if (u.restartSystemd) rows.unshift({ values: ['restart', 'systemd (PID 1)'] });
      const s = section('Units', rows.length);
      s.appendChild(rows.length > 0 ? table(['Action', 'Units'], rows) : el('p', 'muted', 'No unit would change.'));
      app.appendChild(s);
    }

    const pkgs = section('Packages', c.packages.length);
    if (c.packages.length === 0) pkgs.appendChild(el('p', 'muted', 'No package changes.'));
    else {
      const order = { upgraded: 0, downgraded: 1, added: 2, removed: 3, changed: 4 };
      const rows = c.packages
        .slice()
        .sort((a, b) => order[a.kind] - order[b.kind] || (a.name < b.name ? -1 : 1))
        .map((p) => ({
          className: 'kind-' + p.kind,
          values: [p.kind, p.name, versions(p.before), versions(p.after), p.sizeDelta === 0 ? '' : signed(p.sizeDelta)],
          classes: ['kind', 'name', 'ver', 'ver', 'num'],
        }));
      const wrap = el('div', 'table-wrap');
      wrap.appendChild(table(['Change', 'Package', 'Before', 'After', 'Size'], rows));
      pkgs.appendChild(wrap);
    }
    if (c.rebuilt > 0) pkgs.appendChild(el('p', 'muted', c.rebuilt + ' more rebuilt with the same version and size.'));
    app.appendChild(pkgs);

    const sizes = section('Closure size over generations');
    sizes.appendChild(chart(msg.sizes));
    app.appendChild(sizes);

    (d.warnings || []).forEach((w) => app.appendChild(el('p', 'warning', w)));
  }

  // The safe switch after "Switch safely": a countdown with Keep / Revert now in place of the buttons, then the
  // outcome in words. Buttons are disabled once pressed.
  let ticking;
  function actionsBar() {
    let bar = document.getElementById('actions');
    if (!bar) {
      bar = el('div', 'actions');
      bar.id = 'actions';
      app.insertBefore(bar, app.querySelector('.cards') ? app.querySelector('.cards').nextSibling : null);
    }
    bar.replaceChildren();
    return bar;
  }

  function countdown(msg) {
    const bar = actionsBar();
    bar.className = 'actions countdown';
    const text = el('p', 'question');
    const keep = el('button', 'primary', 'Keep');
    keep.id = 'keep';
    const revert = el('button', 'secondary', 'Revert now');
    revert.id = 'revert';
    const answer = (value) => {
      keep.disabled = true;
      revert.disabled = true;
      clearInterval(ticking);
      text.textContent = value === 'keep' ? 'Keeping it…' : 'Reverting…';
      vscode.postMessage({ type: 'answer', answer: value });
    };
    keep.addEventListener('click', () => answer('keep'));
    revert.addEventListener('click', () => answer('revert'));
    const tick = () => {
      const left = Math.max(0, Math.ceil((msg.deadline - Date.now()) / 1000));
      text.textContent =
        'The new configuration runs on ' +
        msg.where +
        '. Keep it? Without an answer it reverts to the previous one in ' +
        left +
        ' s.';
      if (left <= 0) {
        clearInterval(ticking);
        keep.disabled = true;
        revert.disabled = true;
        text.textContent = 'Not kept in time: reverting to the previous configuration…';
      }
    };
    tick();
    clearInterval(ticking);
    ticking = setInterval(tick, 500);
    bar.appendChild(text);
    bar.appendChild(keep);
    bar.appendChild(revert);
  }

  function outcome(msg) {
    clearInterval(ticking);
    const bar = actionsBar();
    bar.className = 'actions outcome ' + msg.kind;
    bar.setAttribute('role', 'status');
    bar.appendChild(el('p', 'outcome-text', msg.text));
  }

  window.addEventListener('message', (event) => {
    const msg = event.data;
    if (!msg) return;
    try {
      if (msg.type === 'countdown' && typeof msg.deadline === 'number') countdown(msg);
      else if (msg.type === 'outcome' && typeof msg.text === 'string') outcome(msg);
      else if (msg.type === 'show' && msg.diff && msg.diff.closure) {
        byteTexts = msg.bytes && typeof msg.bytes === 'object' ? msg.bytes : {};
        render(msg);
      }
    } catch (error) {
      app.replaceChildren(el('p', 'warning', 'Cannot show the comparison: ' + String(error)));
    }
  });
  vscode.postMessage({ type: 'ready' });
})();
