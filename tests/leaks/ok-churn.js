'use strict';
// Control: every request allocates short-lived objects, strings, arrays and closures, then drops them.
const { run } = require('./harness');

let checksum = 0;

function handle(i) {
  const rows = [];
  for (let j = 0; j < 20; j++) rows.push({ j, label: `row-${i}-${j}`, tags: [i, j] });
  const byLabel = new Map(rows.map((r) => [r.label, r]));
  const fn = () => byLabel.size + rows.length;
  checksum = (checksum + fn()) % 1000003;
  return JSON.stringify(rows).length;
}

run({ request: (i) => handle(i), requests: 3000 });
