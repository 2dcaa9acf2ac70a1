// Orders: a bounded ring of the most recent ones (this part does not leak).
'use strict';

const RECENT = 200;
const recent = [];
let nextId = 1;

function placeOrder(input) {
  const order = {
    id: nextId++,
    sku: String(input.sku || 'unknown'),
    quantity: Number(input.quantity || 1),
    placedAt: Date.now(),
  };
  recent.push(order);
  if (recent.length > RECENT) recent.shift();
  return order;
}

function recentOrders() {
  return recent.slice(-20);
}

module.exports = { placeOrder, recentOrders };
