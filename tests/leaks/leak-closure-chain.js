'use strict';
// Leak: the classic "replaceThing" closure chain. `unused` and `someMethod` share one context,
// so every new `theThing` keeps the previous one alive through `originalThing`.
const { run } = require('./harness');

let theThing = null;

function replaceThing(i) {
  const originalThing = theThing; // LEAK: originalThing
  const unused = function () {
    if (originalThing) return 'hi';
    return 'no';
  };
  theThing = {
    longStr: 'chain '.repeat(200) + i,
    someMethod: function () {
      return 'hello';
    },
  };
  return unused;
}

run({ request: (i) => replaceThing(i), requests: 800 });
