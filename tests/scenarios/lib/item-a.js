'use strict'
// One of two unrelated classes named `Item` (see item-b.js): DevTools keys
// object classes by constructor location, so they must be two separate rows.
class Item {
  constructor (id) {
    this.id = id
    this.kind = 'a'
  }
}
module.exports = { Item }
