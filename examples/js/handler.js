// handler.js: the handler module of examples/js/js_host.c: prices an order with the host's
// catalogue (host.lookup) and returns its lines and total, in cents.

let calls = 0; // module state: with reset_after_call, every call starts from the value 0

// One priced line. host.lookup(sku) is the host's: {"cents": ...}, or null for an unknown sku.
function price(item) {
    const entry = host.lookup(item.sku);
    if (entry === null)
        throw new RangeError(`unknown sku '${item.sku}'`);
    const qty = item.qty ?? 1;
    return { sku: item.sku, qty, cents: entry.cents * qty };
}

// {"items": [{"sku": "apple", "qty": 3}, ...]} -> {"lines": [...], "total": cents, "calls": n}
export function handler(event) {
    if (!Array.isArray(event?.items))
        throw new TypeError('the event needs an array "items"');
    calls++;
    const lines = event.items.map(price);
    const total = lines.reduce((sum, line) => sum + line.cents, 0);
    return { lines, total, calls };
}

// An async export: hl_js_call waits for the promise it returns (promise jobs run; there are no
// timers). Its result is a JSON string: "2 items, 5.00 EUR".
export async function summary(event) {
    const order = await Promise.resolve(event).then(handler);
    const count = order.lines.reduce((n, line) => n + line.qty, 0);
    return `${count} items, ${(order.total / 100).toFixed(2)} EUR`;
}
