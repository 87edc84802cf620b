// Live totals for the invoice editor. The page works without this script (totals are
// worked out when the draft is saved); with it, each line's net, the tax per rate and the
// total follow the typing, by the server's rule and in exact integer arithmetic (BigInt,
// never a float):
//   1. a line's net is quantity x unit price less its discount, rounded to the currency's
//      minor unit, half away from zero;
//   2. the tax of each rate is the sum of that rate's nets times the rate, rounded once;
//   3. the total is the nets plus the taxes.
// What the server saves is what counts; a line it would refuse shows no net here.
(() => {
  'use strict';
  const form = document.querySelector('form.invoice-editor[data-currencies]');
  if (!form) return;
  const out = document.getElementById('live-totals');
  const decimals = new Map(
    form.dataset.currencies.split(',').map((pair) => {
      const [code, minor] = pair.split(':');
      return [code, Number(minor)];
    }),
  );

  // `text` as an integer scaled by 10^places, or null when it is not a plain decimal with
  // at most `places` decimals.
  function scaled(text, places) {
    const match = /^([+-]?)(\d*)(?:\.(\d*))?$/.exec(text.trim());
    if (!match || (match[2] === '' && (match[3] || '') === '')) return null;
    const fraction = match[3] || '';
    if (fraction.length > places) return null;
    const digits = BigInt((match[2] || '0') + fraction.padEnd(places, '0'));
    return match[1] === '-' ? -digits : digits;
  }

  // n / d (d > 0) rounded half away from zero.
  function divide(n, d) {
    const negative = n < 0n;
    const a = negative ? -n : n;
    let q = a / d;
    if ((a % d) * 2n >= d) q += 1n;
    return negative ? -q : q;
  }

  const ten = (power) => 10n ** BigInt(power);

  // Minor units written out with the currency's decimals: 130899 -> "1308.99".
  function money(minor, places) {
    const negative = minor < 0n;
    let text = (negative ? -minor : minor).toString().padStart(places + 1, '0');
    if (places > 0) text = `${text.slice(0, -places)}.${text.slice(-places)}`;
    return (negative ? '-' : '') + text;
  }

  // A rate scaled by 1000 as the server writes it: 19000 -> "19", 7700 -> "7.7".
  function rate(value) {
    const text = money(value, 3);
    return text.replace(/\.?0+$/, '') || '0';
  }

  function currency() {
    const typed = form.querySelector('[name="currency"]').value.trim().toUpperCase();
    if (typed) return typed;
    const company = form.querySelector('#f-company');
    const chosen = company.options[company.selectedIndex];
    return (chosen && chosen.dataset.currency) || form.dataset.currency;
  }

  // Below a billion, as the server asks of a quantity and a price (scaled by 10^4).
  const within = (value) => (value < 0n ? -value : value) < 10n ** 13n;

  function row(tr) {
    const get = (part) => tr.querySelector(`[name$=".${part}"]`).value;
    const blank = !get('description').trim() && !get('quantity').trim() && !get('unit_price').trim();
    if (blank) return { blank: true };
    if (!get('description').trim()) return { wrong: true };
    const quantity = scaled(get('quantity'), 4);
    const price = scaled(get('unit_price'), 4);
    const tax = scaled(get('tax_rate'), 3);
    const discount = get('discount').trim() === '' ? 0n : scaled(get('discount'), 2);
    const fine = quantity !== null && quantity !== 0n && price !== null && tax !== null && discount !== null
      && tax >= 0n && tax <= 100000n && discount >= 0n && discount <= 10000n
      && within(quantity) && within(price);
    return fine ? { quantity, price, tax, discount } : { wrong: true };
  }

  function update() {
    const code = currency();
    const places = decimals.get(code);
    const rows = [...form.querySelectorAll('tbody tr')];
    const bases = new Map();
    let net = 0n;
    let wrong = 0;
    for (const tr of rows) {
      const cell = tr.querySelector('[data-net]');
      const line = row(tr);
      if (line.blank || line.wrong || places === undefined) {
        if (line.wrong) wrong += 1;
        cell.textContent = line.wrong ? '?' : '';
        continue;
      }
      // quantity (10^4) x price (10^4) x kept share (10^4): scaled by 10^12.
      const product = line.quantity * line.price * (10000n - line.discount);
      const lineNet = divide(product * ten(places), ten(12));
      cell.textContent = money(lineNet, places);
      net += lineNet;
      bases.set(line.tax, (bases.get(line.tax) || 0n) + lineNet);
    }
    out.replaceChildren();
    out.hidden = false;
    if (places === undefined) {
      out.textContent = code ? `'${code}' is not a currency this server knows.` : '';
      return;
    }
    const list = document.createElement('dl');
    list.className = 'facts';
    const add = (term, value, strong) => {
      const dt = document.createElement('dt');
      dt.textContent = term;
      const dd = document.createElement('dd');
      const text = `${money(value, places)} ${code}`;
      if (strong) {
        const b = document.createElement('strong');
        b.textContent = text;
        dd.append(b);
      } else {
        dd.textContent = text;
      }
      list.append(dt, dd);
    };
    add('Net', net, false);
    let tax = 0n;
    for (const [each, base] of [...bases.entries()].sort((a, b) => (a[0] < b[0] ? -1 : 1))) {
      // base (minor units) x rate (10^3) / 100.
      const share = divide(base * each, 100000n);
      tax += share;
      add(`Tax ${rate(each)} % of ${money(base, places)} ${code}`, share, false);
    }
    add('Total', net + tax, true);
    out.append(list);
    if (wrong > 0) {
      const hint = document.createElement('p');
      hint.className = 'field-error';
      hint.textContent = wrong === 1
        ? 'A line marked ? has a number that will be refused on saving.'
        : `${wrong} lines marked ? have numbers that will be refused on saving.`;
      out.append(hint);
    }
  }

  form.addEventListener('input', update);
  form.addEventListener('change', update);
  update();
})();
